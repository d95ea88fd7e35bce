"""The admin console home and staff accounts."""
import click
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import clock, registry
from ..i18n import N_
from ..auth import second_factor
from ..auth.roles import staff_required
from ..db import engine_for, get_db
from ..formatters import localized
from . import forms, staff

bp = Blueprint("admin", __name__, url_prefix="/admin")

ACCOUNT_ROLES = ("superadmin",)  # who manages staff accounts
registry.add_admin_tool(
    "admin.accounts", N_("Staff accounts"),
    N_("Create administrator accounts, change their role, disable or enable them."),
    roles=ACCOUNT_ROLES,
)

# Messages for StaffAccountError codes, in the reader's language: (field, message).
ACCOUNT_ERRORS = {
    "username_format": ("username", _l("Enter a user name of 3 to 40 characters: lower-case letters, digits, dots, hyphens or underscores, starting with a letter")),
    "username_taken": ("username", _l("An account with this user name already exists")),
    "role": ("role", _l("Select a role")),
    "password_short": ("password", _l("Enter a password of at least 10 characters")),
    "pilot_missing": ("pilot_code", _l("Select the pilot this administrator runs")),
    "pilot_unknown": ("pilot_code", _l("Select the pilot this administrator runs")),
    "pilot_not_allowed": ("pilot_code", _l("Only a pilot administrator has a pilot")),
    "self": ("role", _l("You cannot change or disable your own account")),
    "last_superadmin": ("role", _l("The last superadmin must stay an active superadmin")),
    "not_found": ("role", _l("There is no such staff account")),
    "invalid": ("role", _l("The change could not be made")),
}


@bp.get("")
@staff_required()
def home() -> str:
    return render_template("admin/home.html", tools=registry.admin_tools_for(current_user.role),
                           role_names=forms.ROLES, pilot_names=dict(_pilots()))


def _pilots() -> list[tuple[str, str]]:
    return [(row["code"], localized(row, "name")) for row in staff.pilot_choices(get_db())]


@bp.get("/accounts")
@staff_required(*ACCOUNT_ROLES)
def accounts() -> str:
    return render_template("admin/accounts.html", accounts=staff.list_staff(get_db()),
                           role_names=forms.ROLES, pilot_names=dict(_pilots()))


@bp.route("/accounts/new", methods=["GET", "POST"])
@staff_required(*ACCOUNT_ROLES)
def account_new() -> Response | str:
    form = forms.NewStaffForm(pilots=_pilots())
    if form.is_submitted():
        try:
            account_id = staff.create_staff_account(
                get_db(), form.username.data or "", form.password.data or "", form.role.data or "",
                form.display_name.data or "",
                (form.pilot_code.data or None) if form.role.data == "pilot_admin" else None,
                current_user.audit_name, clock.iso_now(),
            )
        except staff.StaffAccountError as problem:
            field, message = ACCOUNT_ERRORS.get(problem.code, ACCOUNT_ERRORS["invalid"])
            form.add_error(field, message)
        else:
            flash(_l("Account created."), "success")
            return redirect(url_for(".account_detail", account_id=account_id), code=303)
    return render_template("admin/account_new.html", form=form)


def _render_account(account: dict, form: forms.RoleForm | None = None,
                    status_error: str | None = None,
                    second_factor_error: str | None = None) -> str:
    role_form = form or forms.RoleForm(formdata=None, pilots=_pilots(), role=account["role"],
                                       pilot_code=account["pilot_code"] or "")
    return render_template(
        "admin/account.html",
        account=account,
        history=staff.account_history(get_db(), account["login"]),
        form=role_form,
        status_error=status_error,
        second_factor_error=second_factor_error,
        role_names=forms.ROLES,
        second_factor_since=second_factor.enrolled_at(get_db(), account["id"]),
        pilot_names=dict(_pilots()),
    )


def _staff_or_404(account_id: int) -> dict:
    account = staff.get_staff(get_db(), account_id)
    if account is None:
        abort(404)
    return account


@bp.get("/accounts/<id:account_id>")
@staff_required(*ACCOUNT_ROLES)
def account_detail(account_id: int) -> str:
    return _render_account(_staff_or_404(account_id))


@bp.post("/accounts/<id:account_id>/role")
@staff_required(*ACCOUNT_ROLES)
def account_role(account_id: int) -> Response | str:
    account = _staff_or_404(account_id)
    form = forms.RoleForm(pilots=_pilots())
    try:
        staff.change_role(get_db(), account_id, form.role.data or "", form.pilot_code.data or None,
                          current_user.id, current_user.audit_name, clock.iso_now())
    except staff.StaffAccountError as problem:
        form.add_error("role", ACCOUNT_ERRORS.get(problem.code, ACCOUNT_ERRORS["invalid"])[1])
        return _render_account(account, form=form)
    flash(_l("Account updated."), "success")
    return redirect(url_for(".account_detail", account_id=account_id), code=303)


@bp.post("/accounts/<id:account_id>/status")
@staff_required(*ACCOUNT_ROLES)
def account_status(account_id: int) -> Response | str:
    account = _staff_or_404(account_id)
    try:
        staff.set_disabled(get_db(), account_id, forms.StatusForm().disable.data,
                           current_user.id, current_user.audit_name, clock.iso_now())
    except staff.StaffAccountError as problem:
        return _render_account(account, status_error=str(
            ACCOUNT_ERRORS.get(problem.code, ACCOUNT_ERRORS["invalid"])[1]))
    flash(_l("Account updated."), "success")
    return redirect(url_for(".account_detail", account_id=account_id), code=303)


@bp.post("/accounts/<id:account_id>/second-factor")
@staff_required(*ACCOUNT_ROLES)
def account_second_factor_reset(account_id: int) -> Response | str:
    """Forget the account's authenticator app and recovery codes (a lost phone): it is
    signed out and sets up the app again at its next sign-in."""
    account = _staff_or_404(account_id)
    if account_id == current_user.id:
        # Resetting your own would only sign you out; a lost phone is a colleague's reset.
        return _render_account(account, second_factor_error=str(ACCOUNT_ERRORS["self"][1]))
    second_factor.reset(get_db(), account["login"], current_user.audit_name)
    flash(_("The second factor of %(login)s has been reset. The account is signed out and "
             "sets up an authenticator app again at its next sign-in.", login=account["login"]),
          "success")
    return redirect(url_for(".account_detail", account_id=account_id), code=303)


@click.command("create-admin")
@with_appcontext
@click.option("--username", required=True, help="Sign-in name, lower case.")
@click.option("--role", type=click.Choice(staff.STAFF_ROLES), required=True)
@click.option("--pilot", "pilot_code", default=None, help="Pilot code, for pilot_admin only.")
@click.option("--name", "display_name", default="", help="Role or office shown to residents.")
@click.password_option(help="At least 10 characters; prompted for when omitted.")
def create_admin_command(username, role, pilot_code, display_name, password) -> None:
    """Create a staff account (pilot_admin, reviewer or superadmin)."""
    with engine_for(current_app).connect() as db:
        try:
            staff.create_staff_account(
                db, username, password, role, display_name, pilot_code, "system:cli",
                clock.iso_now())
        except staff.StaffAccountError as problem:
            raise click.ClickException(str(problem))
    click.echo(f"Created {role} account {username!r}")
    click.echo(ENROLMENT_STEP.format(sign_in=_staff_sign_in_address()))


# Staff sign in with a password and a code: the account's owner sets up the code at the
# first sign-in (only the owner should see its QR code, so the CLI does not show one).
ENROLMENT_STEP = (
    "Next step, enrolment: sign in at {sign_in} with this username and password. The first "
    "sign-in asks for a second factor: scan the QR code shown with an authenticator app "
    "(or type its key), enter one code to confirm, and keep the 10 recovery codes shown "
    "once. Until then the password opens only that enrolment page, so enrol now.")


def _staff_sign_in_address() -> str:
    # A command has no request to build an address from: the URL map gives the path.
    path = current_app.url_map.bind("localhost").build("auth.staff_login")
    base = current_app.config.get("PUBLIC_BASE_URL")
    return base.rstrip("/") + path if base else path


@click.command("reset-second-factor")
@with_appcontext
@click.option("--username", required=True, help="The staff account's sign-in name.")
def reset_second_factor_command(username) -> None:
    """Forget a staff account's authenticator app and recovery codes (a lost phone); its
    sessions end and its next sign-in enrols again."""
    with engine_for(current_app).connect() as db:
        try:
            had = second_factor.reset(db, username.strip().lower(), "system:cli")
        except second_factor.NoStaffAccount:
            raise click.ClickException(f"no staff account named {username!r}")
    click.echo(f"Reset the second factor of {username!r}" if had
               else f"{username!r} had not enrolled a second factor")
    click.echo(ENROLMENT_STEP.format(sign_in=_staff_sign_in_address()))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(reset_second_factor_command)
    app.jinja_env.globals["account_statuses"] = forms.ACCOUNT_STATUSES
