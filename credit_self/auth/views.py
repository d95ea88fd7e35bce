"""Activation by real-name match, sign in and sign out."""
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from .. import audit, clock, identity, limiter, login_manager
from ..db import get_db
from ..i18n import gettext as _
from . import accounts, forms

bp = Blueprint("auth", __name__)

ACTIVATION_KEY = "activation_id_number"


@login_manager.user_loader
def load_user(account_id: str) -> accounts.Account | None:
    try:
        return accounts.get_account(get_db(), int(account_id))
    except ValueError:
        return None


def _only_failures(response: Response) -> bool:
    """Rate limits count failed attempts only: a success redirects with 303."""
    return response.status_code != 303


def _id_key() -> str:
    return "id:" + identity.normalise(request.form.get("id_number"))


def _safe_next(target: str | None, default: str) -> str:
    """Follow ?next= only to a path on this site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["ACTIVATE_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=_only_failures,
)
@limiter.limit("5 per 15 minutes", key_func=_id_key, methods=["POST"], deduct_when=_only_failures)
def activate() -> Response | str:
    """Step 1: match the ID number and name against the population register."""
    values = {"id_number": "", "name": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = forms.validate_activation(request.form)
        if not errors:
            db = get_db()
            resident = accounts.find_resident(db, values["id_number"])
            if resident is None:
                errors["id_number"] = _(
                    "We cannot find this ID number in the population register. "
                    "Check it against your ID card"
                )
            elif resident["name"] != values["name"]:
                errors["name"] = _(
                    "This name does not match the name registered for this ID number. "
                    "Enter it exactly as on your ID card"
                )
            elif accounts.has_account(db, values["id_number"]):
                errors["id_number"] = _(
                    "An account already exists for this ID number. Sign in instead"
                )
            if errors:
                audit.record(
                    db,
                    "anonymous",
                    "activation_failed",
                    None,
                    {"reason": next(iter(errors.values()))[:60]},
                )
            else:
                session[ACTIVATION_KEY] = values["id_number"]
                return redirect(url_for("auth.set_password"), code=303)
        values = {
            "id_number": request.form.get("id_number", ""),
            "name": request.form.get("name", ""),
        }
    return render_template("auth/activate.html", values=values, errors=errors)


@bp.route("/activate/password", methods=["GET", "POST"])
def set_password() -> Response | str:
    """Step 2: choose a password; the account is created and signed in."""
    id_number = session.get(ACTIVATION_KEY)
    if not id_number:
        return redirect(url_for("auth.activate"))
    db = get_db()
    resident = accounts.find_resident(db, id_number)
    if resident is None:
        session.pop(ACTIVATION_KEY, None)
        return redirect(url_for("auth.activate"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        password, errors = forms.validate_new_password(
            request.form, current_app.config["MIN_PASSWORD_LENGTH"]
        )
        if not errors:
            try:
                account = accounts.activate(db, id_number, password, clock.iso_now())
            except accounts.AlreadyActivated:
                session.pop(ACTIVATION_KEY, None)
                flash(_("An account already exists for this ID number. Sign in instead"), "error")
                return redirect(url_for("auth.login"), code=303)
            _start_session(account)
            flash(_("Your account is active. This is everything the lists hold about you."), "success")
            return redirect(url_for("records.my_record"), code=303)
    return render_template(
        "auth/set_password.html",
        masked_name=identity.mask_name(resident["name"]),
        masked_id=identity.mask_id(id_number),
        errors=errors,
        min_length=current_app.config["MIN_PASSWORD_LENGTH"],
    )


def _start_session(account) -> None:
    """A fresh session on every sign-in: nothing from before carries over, and the
    session gets its own CSRF secret now rather than rewriting the cookie on the first
    page that shows a form (every page does: the sign-out button)."""
    session.clear()
    g.pop("csrf_token", None)
    login_user(account)
    generate_csrf()


def _sign_in_form(
    template: str, validate, login_field: str, default_next: str, staff: bool
) -> Response | str:
    """Sign-in shared by residents (ID number) and staff (username).

    Failures are counted per login typed, so a lockout says nothing about whether an
    account exists.
    """
    values = {login_field: ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        cleaned, errors = validate(request.form)
        if not errors:
            result = accounts.sign_in(
                get_db(),
                cleaned[login_field],
                cleaned["password"],
                clock.now(),
                current_app.config["LOGIN_MAX_FAILURES"],
                current_app.config["LOGIN_LOCK_MINUTES"],
                staff=staff,
            )
            account = result.account
            if account is not None:
                next_url = _safe_next(request.args.get("next"), default_next)
                _start_session(account)
                return redirect(next_url, code=303)
            if result.locked_until is not None:
                minutes = max(1, int((result.locked_until - clock.now()).total_seconds() // 60) + 1)
                errors[login_field] = _(
                    "Too many failed attempts to sign in with this ID number. It is locked "
                    "until %(time)s (about %(minutes)d minutes). Try again then, or activate "
                    "your account if you have not yet.",
                    time=format_datetime(result.locked_until, "HH:mm"),
                    minutes=minutes,
                ) if not staff else _(
                    "Too many failed attempts to sign in with this username. It is locked "
                    "until %(time)s (about %(minutes)d minutes).",
                    time=format_datetime(result.locked_until, "HH:mm"),
                    minutes=minutes,
                )
            else:
                errors[login_field] = (
                    _("The username or password is not right. Check both and try again")
                    if staff
                    else _("The ID number or password is not right. Check both and try again")
                )
        values = {login_field: request.form.get(login_field, "")}
    return render_template(template, values=values, errors=errors)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=_only_failures,
)
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("records.my_record" if current_user.is_resident else "admin.home"))
    return _sign_in_form(
        "auth/login.html", forms.validate_sign_in, "id_number", url_for("records.my_record"), staff=False
    )


@bp.route("/admin/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=_only_failures,
)
def staff_login() -> Response | str:
    """Staff (pilot administrators, reviewers, superadmins) sign in with a username."""
    if current_user.is_authenticated and not current_user.is_resident:
        return redirect(url_for("admin.home"))
    return _sign_in_form(
        "auth/staff_login.html", forms.validate_staff_sign_in, "username", url_for("admin.home"), staff=True
    )


@bp.post("/logout")
@login_required
def logout() -> Response:
    was_staff = not current_user.is_resident
    audit.record(get_db(), current_user.audit_name, "signed_out", current_user.id_number)
    logout_user()
    session.clear()
    flash(_("You have signed out. Close the browser if this is a shared device."), "success")
    return redirect(url_for("auth.staff_login" if was_staff else "auth.login"), code=303)
