"""The admin console home: the tools a staff member's role gives them."""
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
    request,
    url_for,
)
from flask.cli import with_appcontext
from flask_login import current_user, logout_user

from .. import clock
from ..auth.roles import staff_required
from ..db import connect, get_db
from ..i18n import lazy_gettext as _l
from ..request_globals import signed_in_user
from ..sessions import served_without_session
from . import staff, tools

bp = Blueprint("admin", __name__, url_prefix="/admin")

ACCOUNT_ROLES = ("superadmin",)  # who manages staff accounts
tools.register(
    "admin.accounts", _l("Staff accounts"),
    _l("Create administrator accounts, change their role, disable or enable them."),
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
ROLE_NAMES = {
    "pilot_admin": _l("Pilot administrator"),
    "reviewer": _l("Correction reviewer"),
    "superadmin": _l("Superadmin"),
}


@bp.get("")
@staff_required()
def home() -> str:
    return render_template("admin/home.html", tools=tools.tools_for(current_user.role))


def _pilots() -> list[dict]:
    return staff.pilot_choices(get_db())


@bp.get("/accounts")
@staff_required(*ACCOUNT_ROLES)
def accounts() -> str:
    return render_template(
        "admin/accounts.html", accounts=staff.list_staff(get_db()), role_names=ROLE_NAMES
    )


@bp.route("/accounts/new", methods=["GET", "POST"])
@staff_required(*ACCOUNT_ROLES)
def account_new() -> Response | str:
    errors: dict[str, str] = {}
    values = {name: request.form.get(name, "").strip() for name in ("username", "display_name", "role", "pilot_code")}
    if request.method == "POST":
        password = request.form.get("password", "")
        try:
            account_id = staff.create_staff_account(
                get_db(), values["username"], password, values["role"], values["display_name"],
                values["pilot_code"] or None if values["role"] == "pilot_admin" else None,
                current_user.audit_name, clock.iso_now(),
            )
        except staff.StaffAccountError as problem:
            field, message = ACCOUNT_ERRORS.get(problem.code, ACCOUNT_ERRORS["invalid"])
            errors[field] = str(message)
        else:
            flash(_l("Account created."), "success")
            return redirect(url_for(".account_detail", account_id=account_id), code=303)
    return render_template(
        "admin/account_new.html", values=values, errors=errors, pilots=_pilots(), role_names=ROLE_NAMES
    )


def _render_account(account: dict, errors: dict[str, str]) -> str:
    return render_template(
        "admin/account.html",
        account=account,
        history=staff.account_history(get_db(), account["login"]),
        errors=errors,
        pilots=_pilots(),
        role_names=ROLE_NAMES,
    )


@bp.get("/accounts/<int:account_id>")
@staff_required(*ACCOUNT_ROLES)
def account_detail(account_id: int) -> str:
    account = staff.get_staff(get_db(), account_id)
    if account is None:
        abort(404)
    return _render_account(account, {})


@bp.post("/accounts/<int:account_id>/role")
@staff_required(*ACCOUNT_ROLES)
def account_role(account_id: int) -> Response | str:
    return _account_change(account_id, "role")


@bp.post("/accounts/<int:account_id>/status")
@staff_required(*ACCOUNT_ROLES)
def account_status(account_id: int) -> Response | str:
    return _account_change(account_id, "status")


def _account_change(account_id: int, what: str) -> Response | str:
    db = get_db()
    account = staff.get_staff(db, account_id)
    if account is None:
        abort(404)
    try:
        if what == "role":
            role = request.form.get("role", "")
            staff.change_role(
                db, account_id, role, request.form.get("pilot_code") or None,
                current_user.id, current_user.audit_name, clock.iso_now(),
            )
        else:
            staff.set_disabled(
                db, account_id, request.form.get("disable") == "yes",
                current_user.id, current_user.audit_name, clock.iso_now(),
            )
    except staff.StaffAccountError as problem:
        field, message = ACCOUNT_ERRORS.get(problem.code, ACCOUNT_ERRORS["invalid"])
        field = "role" if what == "role" else "status"
        return _render_account(account, {field: str(message)})
    flash(_l("Account updated."), "success")
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
    db = connect(current_app.config["DATABASE"])
    try:
        staff.create_staff_account(
            db, username, password, role, display_name, pilot_code, "system:cli", clock.iso_now()
        )
    except staff.StaffAccountError as problem:
        raise click.ClickException(str(problem))
    finally:
        db.close()
    click.echo(f"Created {role} account {username!r}")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin_command)

    @app.before_request
    def end_disabled_sessions() -> None:
        """An account disabled while signed in loses its session at its next request."""
        if served_without_session():  # nobody is signed in there
            return
        user = signed_in_user()
        if user.is_authenticated and not user.is_active:
            logout_user()
