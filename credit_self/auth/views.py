"""Activation and recovery with a code to the registered phone, signing in and out (staff
with a second factor), idle timeouts, and the account page."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import qrcode
import qrcode.image.svg
from flask import (Blueprint, Flask, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import LazyString, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response

from .. import audit, clock, identity, sms
from ..db import get_db
from ..extensions import limiter, login_manager
from ..formatters import time_of_day
from ..security import safe_next
from . import accounts, codes, delays, second_factor
from .forms import (ActivationForm, ChangePasswordForm, CodeForm, EnrolmentCodeForm,
                    NewPasswordForm, SignInForm, StaffCodeForm, StaffSignInForm)

bp = Blueprint("auth", __name__)


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


def _start_session(account: accounts.Account) -> None:
    """A fresh session on every sign-in: nothing from before carries over, and the
    session gets its own CSRF secret now."""
    session.clear()
    login_user(accounts.start_session(get_db(), account, clock.iso_now()))
    generate_csrf()


# ------------------------------------------------------------------ activation and recovery
#
# Both prove the person holds the phone registered with the ID: ID number and name, then
# a one-time code sent to that phone (codes.py), then a password. The browser's session
# holds the token of its code; nothing else about the ID until the code is right.


@dataclass(frozen=True)
class CodeFlow:
    purpose: str
    session_key: str
    start: str  # endpoints of the three steps
    code: str
    resend: str
    password: str
    # The one answer for every mismatch, so the form tells a stranger nothing about an ID.
    mismatch: LazyString
    done: LazyString  # shown once the password is set and the browser signed in


ACTIVATION = CodeFlow(
    codes.ACTIVATION, "activation_code", "auth.activate", "auth.activation_code",
    "auth.activation_resend", "auth.set_password",
    _l("These details do not match our records. Check them against your ID card. If you "
       "activated an account before, use “Forgot your password?” on the sign-in page"),
    _l("Your account is active. This is everything the lists hold about you."))
RECOVERY = CodeFlow(
    codes.RECOVERY, "recovery_code", "auth.recover", "auth.recovery_code",
    "auth.recovery_resend", "auth.recovery_password",
    _l("These details do not match our records. Check them against your ID card. If you "
       "have not activated an account yet, activate it instead"),
    _l("Your password has been reset. Every other device has been signed out."))


def _code_text(purpose: str, code: str) -> str:
    minutes = int(codes.VALID_FOR.total_seconds() // 60)
    if purpose == codes.ACTIVATION:
        return _("Credit Self-Check: %(code)s is your code to activate your account. It is "
                 "valid for %(minutes)d minutes. Never tell it to anyone, staff included.",
                 code=code, minutes=minutes)
    return _("Credit Self-Check: %(code)s is your code to reset your password. It is valid "
             "for %(minutes)d minutes. Never tell it to anyone, staff included. If you did not "
             "ask for it, ignore this message: your password stays as it is.",
             code=code, minutes=minutes)


def _text(phone: str, text: str) -> bool:
    """Send a text message; False (logged and audited) when the gateway refused it."""
    try:
        sms.send(get_db(), phone, text)
    except sms.SmsNotSent as failure:
        current_app.logger.error("text message not sent: %s", failure)
        audit.record(get_db(), "system", "sms_not_sent", None)
        return False
    return True


def _details_step(flow: CodeFlow, form, template: str) -> Response | str:
    """Step 1: the ID number and name; a code to the registered phone when they fit."""
    if form.validate_on_submit():
        db = get_db()
        resident = accounts.resident_for_code(db, form.id_number.data, form.name.data,
                                              flow.purpose)
        if resident is None:
            audit.record(db, "anonymous", f"{flow.purpose}_refused", None)
            form.add_error("id_number", flow.mismatch)
        else:
            token, code = codes.start(db, resident["id_number"], flow.purpose, clock.now(),
                                      current_app.secret_key)
            audit.record(db, "anonymous", f"{flow.purpose}_code_sent", resident["id_number"])
            if _text(resident["phone"], _code_text(flow.purpose, code)):
                session[flow.session_key] = token
                return redirect(url_for(flow.code), code=303)
            form.add_error("id_number", _("We could not send the text message. Try again in "
                                          "a few minutes"))
    return render_template(template, form=form)


def _code_step(flow: CodeFlow) -> Response | str:
    """Step 2: the code from the text message (five tries), or a new one after a minute."""
    db = get_db()
    token = session.get(flow.session_key)
    row = codes.pending(db, token, flow.purpose)
    if row is None:
        verified = codes.verified_id_number(db, token, flow.purpose, clock.now())
        return redirect(url_for(flow.password if verified else flow.start))
    form = CodeForm()
    if form.validate_on_submit():
        checked = codes.check(db, token, flow.purpose, form.code.data, clock.now(),
                              current_app.secret_key)
        if checked.outcome is codes.Outcome.RIGHT:
            return redirect(url_for(flow.password), code=303)
        if checked.outcome is codes.Outcome.WRONG:
            form.add_error("code", ngettext(
                "This code is not right. Check the text message: you have %(num)d more try",
                "This code is not right. Check the text message: you have %(num)d more tries",
                checked.tries_left))
        elif checked.outcome is codes.Outcome.EXPIRED:
            form.add_error("code", _("This code has expired. Ask for a new code below"))
        else:
            session.pop(flow.session_key, None)
            flash(_("That code was wrong too many times. Start again to get a new code."), "error")
            return redirect(url_for(flow.start), code=303)
    resident = accounts.find_resident(db, row["id_number"])
    return render_template("auth/code.html", form=form, flow=flow,
                           phone=identity.mask_phone(resident["phone"]),
                           resend_at=codes.resend_at(row))


def _resend(flow: CodeFlow) -> Response:
    """A new code to the same phone, at most one a minute (the tries left stay)."""
    db = get_db()
    token = session.get(flow.session_key)
    row = codes.pending(db, token, flow.purpose)
    if row is None:
        return redirect(url_for(flow.start), code=303)
    code = codes.renew(db, token, flow.purpose, clock.now(), current_app.secret_key)
    if code is None:
        flash(_("You can ask for a new code from %(time)s.",
                time=time_of_day(codes.resend_at(row))), "error")
    else:
        phone = accounts.find_resident(db, row["id_number"])["phone"]
        if _text(phone, _code_text(flow.purpose, code)):
            flash(_("We sent a new code to %(phone)s.", phone=identity.mask_phone(phone)),
                  "success")
        else:
            flash(_("We could not send the text message. Try again in a few minutes."), "error")
    return redirect(url_for(flow.code), code=303)


def _password_step(flow: CodeFlow, finish: Callable) -> Response | str:
    """Step 3: the password, once this browser entered the right code."""
    db = get_db()
    token = session.get(flow.session_key)
    id_number = codes.verified_id_number(db, token, flow.purpose, clock.now())
    if id_number is None:
        return redirect(url_for(flow.code))
    resident = accounts.find_resident(db, id_number)
    form = NewPasswordForm(min_length=current_app.config["MIN_PASSWORD_LENGTH"])
    if form.validate_on_submit():
        try:
            account = finish(db, token, form.password.data, resident)
        except accounts.CodeNeeded:
            session.pop(flow.session_key, None)
            flash(_("Your code is no longer valid. Start again to get a new code."), "error")
            return redirect(url_for(flow.start), code=303)
        except accounts.AlreadyActivated:
            session.pop(flow.session_key, None)
            flash(_("An account already exists for this ID number. Sign in instead"), "error")
            return redirect(url_for("auth.login"), code=303)
        _start_session(account)
        flash(str(flow.done), "success")
        return redirect(url_for("records.my_record"), code=303)
    return render_template(
        "auth/set_password.html",
        form=form,
        flow=flow,
        masked_name=identity.mask_name(resident["name"]),
        masked_id=identity.mask_id(id_number),
        min_length=current_app.config["MIN_PASSWORD_LENGTH"],
    )


def _code_rate_limit() -> str:
    # Every POST of these steps counts per client address, successes too (each may send
    # a text message). There is no limit per ID number: a stranger could use it up to
    # keep the owner out.
    return current_app.config["ACTIVATE_RATE_LIMIT"]


@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(_code_rate_limit, methods=["POST"])
def activate() -> Response | str:
    """Activation, step 1: ID number and name."""
    return _details_step(ACTIVATION, ActivationForm(), "auth/activate.html")


@bp.route("/activate/code", methods=["GET", "POST"])
@limiter.limit(_code_rate_limit, methods=["POST"])
def activation_code() -> Response | str:
    """Activation, step 2: the code sent to the registered phone."""
    return _code_step(ACTIVATION)


@bp.post("/activate/code/resend")
@limiter.limit(_code_rate_limit)
def activation_resend() -> Response:
    return _resend(ACTIVATION)


def _activate(db, token: str, password: str, _resident: dict) -> accounts.Account:
    return accounts.activate_with_code(db, token, password, clock.now())


@bp.route("/activate/password", methods=["GET", "POST"])
def set_password() -> Response | str:
    """Activation, step 3: choose a password; the account is created and signed in."""
    return _password_step(ACTIVATION, _activate)


@bp.route("/recover", methods=["GET", "POST"])
@limiter.limit(_code_rate_limit, methods=["POST"])
def recover() -> Response | str:
    """Forgot your password, step 1: ID number and name."""
    return _details_step(RECOVERY, ActivationForm(), "auth/recover.html")


@bp.route("/recover/code", methods=["GET", "POST"])
@limiter.limit(_code_rate_limit, methods=["POST"])
def recovery_code() -> Response | str:
    """Forgot your password, step 2: the code sent to the registered phone."""
    return _code_step(RECOVERY)


@bp.post("/recover/code/resend")
@limiter.limit(_code_rate_limit)
def recovery_resend() -> Response:
    return _resend(RECOVERY)


def _reset(db, token: str, password: str, resident: dict) -> accounts.Account:
    phone = resident["phone"]
    account = accounts.reset_password(db, token, password, clock.now(), identity.mask_phone(phone))
    # The inbox has the notice already (reset_password); the phone hears of it too.
    _text(phone, _("Credit Self-Check: your password was reset and every device was signed "
                   "out. If this was not you, reset it again now with “Forgot your "
                   "password?”: only the holder of this phone can."))
    return account


@bp.route("/recover/password", methods=["GET", "POST"])
def recovery_password() -> Response | str:
    """Forgot your password, step 3: a new password; every session of the account ends
    and this browser is signed in."""
    return _password_step(RECOVERY, _reset)


# ------------------------------------------------------------------ signing in


def _delay_message(retry_at: datetime, staff: bool) -> str:
    time = time_of_day(retry_at)
    if staff:
        return _("Too many failed attempts to sign in. To keep the account safe, each new "
                 "attempt has to wait a little longer: try again at %(time)s.", time=time)
    return _("Too many failed attempts to sign in. To keep the account safe, each new attempt "
             "has to wait a little longer: try again at %(time)s. If you forgot your "
             "password, reset it with a code sent to your phone.", time=time)


def _sign_in(form, template: str, login_field: str, default_next: str, staff: bool):
    """Sign-in shared by residents (ID number) and staff (username)."""
    if form.validate_on_submit():
        config = current_app.config
        cap = timedelta(seconds=config["MAX_DELAY_SECONDS"])
        result = accounts.sign_in(
            get_db(), form[login_field].data, form.password.data, clock.now(),
            request.remote_addr,
            login_policy=delays.Policy(config["FREE_FAILURES_PER_LOGIN"], cap),
            address_policy=delays.Policy(config["FREE_FAILURES_PER_ADDRESS"], cap),
            staff=staff,
        )
        if result.account is not None:
            if staff:  # the password alone signs no staff account in
                return _begin_second_factor(result.account,
                                            safe_next(request.args.get("next"), default_next))
            _start_session(result.account)
            return redirect(safe_next(request.args.get("next"), default_next), code=303)
        if result.retry_at is not None:
            form.add_error(login_field, _delay_message(result.retry_at, staff))
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
             "(about %(minutes)d minutes).", time=time_of_day(locked_until),
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
