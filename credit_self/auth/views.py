"""Activation by real-name match, signing in and out (staff with a second factor), idle
timeouts, and the account page."""
from datetime import datetime, timedelta

import qrcode
import qrcode.image.svg
from flask import (Blueprint, Flask, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response

from .. import audit, clock, identity
from ..db import get_db
from ..extensions import limiter, login_manager
from ..security import safe_next
from . import accounts, second_factor
from .forms import (ActivationForm, ChangePasswordForm, EnrolmentCodeForm, NewPasswordForm,
                    SignInForm, StaffCodeForm, StaffSignInForm)

bp = Blueprint("auth", __name__)

ACTIVATION_KEY = "activation_id_number"


@login_manager.user_loader
def load_user(session_token: str) -> accounts.Account | None:
    """The account of the server-side session the cookie names; None once that session
    has ended anywhere (sign-out, password change, disabled account) or has been idle
    for longer than its limit (then the page says so)."""
    try:
        return accounts.account_for_session(get_db(), session_token, clock.now(), idle_limits(),
                                            touch=request.endpoint != "auth.session_status")
    except accounts.SessionTimedOut as ended:
        session.clear()
        flash(_("You were signed out after %(minutes)d minutes without activity, to protect "
                "your account. Sign in again to continue.", minutes=ended.idle_minutes), "info")
        return None


def idle_limits() -> accounts.IdleLimits:
    return accounts.IdleLimits(current_app.config["RESIDENT_IDLE_MINUTES"],
                               current_app.config["STAFF_IDLE_MINUTES"])


def _only_failures(response: Response) -> bool:
    """Rate limits count failed attempts only: a success redirects with 303."""
    return response.status_code != 303


def _id_key() -> str:
    return "id:" + identity.normalise(request.form.get("id_number"))


def _start_session(account: accounts.Account) -> None:
    """A fresh session on every sign-in: nothing from before carries over, and the
    session gets its own CSRF secret now."""
    session.clear()
    login_user(accounts.start_session(get_db(), account, clock.iso_now()))
    generate_csrf()


@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["ACTIVATE_RATE_LIMIT"], methods=["POST"],
               deduct_when=_only_failures)
@limiter.limit("5 per 15 minutes", key_func=_id_key, methods=["POST"], deduct_when=_only_failures)
def activate() -> Response | str:
    """Step 1: match the ID number and name against the population register."""
    form = ActivationForm()
    if form.validate_on_submit():
        db = get_db()
        resident = accounts.find_resident(db, form.id_number.data)
        if resident is None:
            form.add_error("id_number", _("We cannot find this ID number in the population "
                                          "register. Check it against your ID card"))
        elif resident["name"] != form.name.data:
            form.add_error("name", _("This name does not match the name registered for this "
                                     "ID number. Enter it exactly as on your ID card"))
        elif accounts.has_account(db, form.id_number.data):
            form.add_error("id_number", _("An account already exists for this ID number. "
                                          "Sign in instead"))
        else:
            session[ACTIVATION_KEY] = form.id_number.data
            return redirect(url_for("auth.set_password"), code=303)
        audit.record(db, "anonymous", "activation_failed", None,
                     {"reason": form.error_list()[0][1][:60]})
    return render_template("auth/activate.html", form=form)


@bp.route("/activate/password", methods=["GET", "POST"])
def set_password() -> Response | str:
    """Step 2: choose a password; the account is created and signed in."""
    id_number = session.get(ACTIVATION_KEY)
    db = get_db()
    resident = accounts.find_resident(db, id_number) if id_number else None
    if resident is None:
        session.pop(ACTIVATION_KEY, None)
        return redirect(url_for("auth.activate"))
    form = NewPasswordForm(min_length=current_app.config["MIN_PASSWORD_LENGTH"])
    if form.validate_on_submit():
        try:
            account = accounts.activate(db, id_number, form.password.data, clock.iso_now())
        except accounts.AlreadyActivated:
            session.pop(ACTIVATION_KEY, None)
            flash(_("An account already exists for this ID number. Sign in instead"), "error")
            return redirect(url_for("auth.login"), code=303)
        _start_session(account)
        flash(_("Your account is active. This is everything the lists hold about you."), "success")
        return redirect(url_for("records.my_record"), code=303)
    return render_template(
        "auth/set_password.html",
        form=form,
        masked_name=identity.mask_name(resident["name"]),
        masked_id=identity.mask_id(id_number),
        min_length=current_app.config["MIN_PASSWORD_LENGTH"],
    )


def _lock_message(locked_until, staff: bool) -> str:
    minutes = max(1, int((locked_until - clock.now()).total_seconds() // 60) + 1)
    time = format_datetime(locked_until, "HH:mm")
    if staff:
        return _("Too many failed attempts to sign in with this username. It is locked "
                 "until %(time)s (about %(minutes)d minutes).", time=time, minutes=minutes)
    return _("Too many failed attempts to sign in with this ID number. It is locked until "
             "%(time)s (about %(minutes)d minutes). Try again then, or activate your account "
             "if you have not yet.", time=time, minutes=minutes)


def _sign_in(form, template: str, login_field: str, default_next: str, staff: bool):
    """Sign-in shared by residents (ID number) and staff (username)."""
    if form.validate_on_submit():
        result = accounts.sign_in(
            get_db(), form[login_field].data, form.password.data, clock.now(),
            current_app.config["LOGIN_MAX_FAILURES"], current_app.config["LOGIN_LOCK_MINUTES"],
            staff=staff,
        )
        if result.account is not None:
            if staff:  # the password alone signs no staff account in
                return _begin_second_factor(result.account,
                                            safe_next(request.args.get("next"), default_next))
            _start_session(result.account)
            return redirect(safe_next(request.args.get("next"), default_next), code=303)
        if result.locked_until is not None:
            form.add_error(login_field, _lock_message(result.locked_until, staff))
        elif staff:
            form.add_error(login_field, _("The username or password is not right. Check both "
                                          "and try again"))
        else:
            form.add_error(login_field, _("The ID number or password is not right. Check both "
                                          "and try again"))
    return render_template(template, form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=_only_failures)
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("records.my_record" if current_user.is_resident else "admin.home"))
    return _sign_in(SignInForm(), "auth/login.html", "id_number", url_for("records.my_record"),
                    staff=False)


@bp.route("/admin/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=_only_failures)
def staff_login() -> Response | str:
    """Staff (pilot administrators, reviewers, superadmins) sign in with a username."""
    if current_user.is_authenticated and not current_user.is_resident:
        return redirect(url_for("admin.home"))
    return _sign_in(StaffSignInForm(), "auth/staff_login.html", "username",
                    url_for("admin.home"), staff=True)


# ------------------------------------------------------------------ staff second factor
# Between the password and the code nothing is signed in: the browser's session holds
# only which account is waiting, until when, and (to enrol) the new secret. No staff page
# opens and no server-side session exists until the code is right.

PENDING_KEY = "staff_second_factor"


def _begin_second_factor(account: accounts.Account, next_url: str) -> Response:
    """After the right staff password: the code step, or enrolment at the first sign-in."""
    enrolled = second_factor.is_enrolled(get_db(), account.id)
    minutes = current_app.config["SECOND_FACTOR_CODE_MINUTES" if enrolled
                                  else "SECOND_FACTOR_ENROL_MINUTES"]
    session[PENDING_KEY] = {
        "account_id": account.id,
        "until": (clock.now() + timedelta(minutes=minutes)).isoformat(timespec="seconds"),
        "minutes": minutes,
        "next": next_url,
        "secret": None if enrolled else second_factor.new_secret(),
    }
    return redirect(url_for("auth.staff_code" if enrolled else "auth.staff_enrol"), code=303)


def _pending_sign_in() -> tuple[accounts.Account, dict] | None:
    """The staff account waiting for its code in this browser, while there is time."""
    pending = session.get(PENDING_KEY)
    if not pending:
        return None
    if datetime.fromisoformat(pending["until"]) <= clock.now():
        session.pop(PENDING_KEY)
        flash(_("More than %(minutes)d minutes passed after you entered your password. Sign "
                "in again.", minutes=pending["minutes"]), "info")
        return None
    account = accounts.get_account(get_db(), pending["account_id"])
    if account is None or account.is_resident or not account.is_active:
        session.pop(PENDING_KEY)
        return None
    return account, pending


def _code_lock_message(locked_until: datetime) -> str:
    minutes = max(1, int((locked_until - clock.now()).total_seconds() // 60) + 1)
    return _("Too many wrong codes. Signing in to this account is locked until %(time)s "
             "(about %(minutes)d minutes).", time=format_datetime(locked_until, "HH:mm"),
             minutes=minutes)


@bp.route("/admin/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=_only_failures)
def staff_code() -> Response | str:
    """Second step of a staff sign-in: a code from the authenticator app or a recovery code."""
    pending = _pending_sign_in()
    if pending is None:
        return redirect(url_for("auth.staff_login"), code=303)
    account, state = pending
    if state["secret"] is not None:
        return redirect(url_for("auth.staff_enrol"), code=303)
    db = get_db()
    form = StaffCodeForm()
    if form.validate_on_submit():
        config = current_app.config
        try:
            result = second_factor.check_code(db, account, form.code.data, clock.now(),
                                              config["SECOND_FACTOR_MAX_FAILURES"],
                                              config["SECOND_FACTOR_LOCK_MINUTES"])
        except second_factor.NotEnrolled:
            session.pop(PENDING_KEY)
            flash(_("The second factor of this account has just been reset. Sign in again "
                    "to set up your authenticator app."), "info")
            return redirect(url_for("auth.staff_login"), code=303)
        if result.accepted:
            _start_session(account)
            if result.method == "recovery":
                left = second_factor.recovery_codes_left(db, account.id)
                flash(ngettext("You signed in with a recovery code, which now cannot be used "
                               "again. You have %(num)d recovery code left.",
                               "You signed in with a recovery code, which now cannot be used "
                               "again. You have %(num)d recovery codes left.", left), "info")
            return redirect(state["next"], code=303)
        if result.locked_until is not None:
            form.add_error("code", _code_lock_message(result.locked_until))
        elif result.replayed:
            form.add_error("code", _("This code has already been used. Wait for your app to "
                                     "show the next code and enter that"))
        else:
            form.add_error("code", _("The code is not right. Enter the code your app shows "
                                     "for Credit Self-Check now, or a recovery code"))
    return render_template("auth/staff_code.html", form=form, minutes=state["minutes"])


@bp.route("/admin/login/set-up", methods=["GET", "POST"])
def staff_enrol() -> Response | str:
    """First staff sign-in: scan the QR code, confirm one code, keep the recovery codes."""
    pending = _pending_sign_in()
    if pending is None:
        return redirect(url_for("auth.staff_login"), code=303)
    account, state = pending
    if state["secret"] is None:
        return redirect(url_for("auth.staff_code"), code=303)
    form = EnrolmentCodeForm()
    if form.validate_on_submit():
        try:
            codes = second_factor.enrol(get_db(), account, state["secret"], form.code.data,
                                        clock.now())
        except second_factor.AlreadyEnrolled:
            session.pop(PENDING_KEY)
            flash(_("This account was set up with an authenticator app in another browser a "
                    "moment ago. Sign in again and enter a code from that app."), "info")
            return redirect(url_for("auth.staff_login"), code=303)
        if codes is not None:
            _start_session(account)
            # Shown in this answer only: the codes are kept nowhere but as hashes.
            return render_template("auth/recovery_codes.html", codes=codes,
                                   next_url=state["next"])
        form.add_error("code", _("This code does not match. Check that you scanned the QR "
                                 "code on this page, then enter the code your app shows now"))
    uri = second_factor.provisioning_uri(state["secret"], account.login)
    return render_template("auth/staff_enrol.html", form=form, qr=_qr_svg(uri),
                           secret=second_factor.grouped(state["secret"]), uri=uri,
                           username=account.login, issuer=second_factor.ISSUER)


def _qr_svg(data: str) -> Markup:
    """An SVG QR code for `data` (our own otpauth:// address), sized by CSS."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    svg = image.to_string(encoding="unicode")
    return Markup(svg.replace("<svg ", '<svg class="qr__image" aria-hidden="true" '
                                       'focusable="false" ', 1))


# ------------------------------------------------------------------ idle timeout


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/account/session")
def session_status() -> dict:
    """How long this session has left before it ends for idleness. Asking is not
    activity: the idle warning asks before it warns, so another tab's use counts."""
    if not current_user.is_authenticated:
        return {"signed_in": False}
    return {"signed_in": True, "seconds_left": current_user.idle_seconds_left}


@bp.post("/account/stay-signed-in")
@login_required
def stay_signed_in() -> Response | dict:
    """The idle warning's "Stay signed in": restart this session's idle clock."""
    accounts.keep_session_alive(get_db(), current_user, clock.now())
    if _wants_json():
        return {"signed_in": True, "seconds_left": current_user.idle_seconds_left}
    return redirect(safe_next(request.form.get("next"), url_for("auth.account")), code=303)


def _end_session_here(message: str) -> Response:
    was_staff = not current_user.is_resident
    logout_user()
    session.clear()
    flash(message, "success")
    return redirect(url_for("auth.staff_login" if was_staff else "auth.login"), code=303)


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Ends this session on the server, so a copy of the cookie opens nothing."""
    accounts.sign_out(get_db(), current_user)
    return _end_session_here(_("You have signed out. Close the browser if this is a shared device."))


@bp.route("/account", methods=["GET", "POST"])
@login_required
# A wrong current password counts like a failed sign-in: a stolen session cannot be
# used to guess the password either.
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=_only_failures)
def account() -> Response | str:
    """Change the password (which ends every other session) or sign out everywhere."""
    form = ChangePasswordForm(min_length=current_app.config["MIN_PASSWORD_LENGTH"])
    db = get_db()
    if form.validate_on_submit():
        if not accounts.check_password(db, current_user.id, form.current_password.data):
            form.add_error("current_password", _("Your current password is not right"))
        else:
            accounts.change_password(db, current_user, form.password.data)
            _start_session(accounts.get_account(db, current_user.id))
            flash(_("Your password has been changed. Every other device has been signed out."),
                  "success")
            return redirect(url_for("auth.account"), code=303)
    return render_template("auth/account.html", form=form)


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> Response:
    """Ends every session of the account, this one included."""
    accounts.sign_out_everywhere(get_db(), current_user)
    return _end_session_here(_("You have been signed out on every device."))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Sign in to see your record.")
    login_manager.login_message_category = "info"
