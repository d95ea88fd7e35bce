"""Routes of the certificates capability (thin: validation and data work live beside them).

Residents: /certificates (issue, list, revoke), /certificates/<id> (QR that refreshes),
/certificates/<id>/print. Verifiers, without an account: /v/<token> (page) and
/api/v1/verify/<token> (JSON), rate limited per client address.
"""
from datetime import datetime

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from .. import audit, clock, registry
from ..i18n import N_
from ..auth.roles import refuse_read, resident_required
from ..db import get_db, write_transaction
from ..errors import render_error
from ..extensions import limiter
from ..htmx import is_partial_request
from ..identity import mask_id, mask_name
from ..records import entries, rules
from ..sessions import serve_without_session
from . import forms, openapi, store, tokens

bp = Blueprint("certificates", __name__)
registry.add_resident_page("certificates.index", N_("Certificates"), order=50)


# ---------------------------------------------------------------------------- settings


def secret_keys() -> list[str]:
    """Signing secrets, newest first; the app's SECRET_KEY when none are configured."""
    configured = current_app.config.get("CERTIFICATE_SECRETS")
    if isinstance(configured, str):
        configured = [part.strip() for part in configured.split(",") if part.strip()]
    return list(configured) if configured else [current_app.config["SECRET_KEY"]]


# One limit per client address for the page and the API together.
verify_limit = limiter.shared_limit(lambda: current_app.config["VERIFY_RATE_LIMIT"],
                                    scope="certificate-verify")


# --------------------------------------------------------------------------- helpers


def _own_certificate_or_404(certificate_id: str) -> dict:
    db = get_db()
    certificate = store.certificate_for(db, current_user.id_number, certificate_id)
    if certificate is None:
        refuse_read(
            "certificate_read_refused",
            store.owner_of(db, certificate_id),
            {"certificate_id": certificate_id},
        )
    return certificate


def verify_url(token: str) -> str:
    """The absolute URL the QR encodes; PUBLIC_BASE_URL overrides the request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("certificates.verify_page", token=token)
    return url_for("certificates.verify_page", token=token, _external=True)


def qr_svg(data: str) -> Markup:
    """An SVG QR code (white quiet zone included) for `data`, safe to embed."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    svg = image.to_string(encoding="unicode")
    # Sized by CSS, not millimetres; announced by the text beside it.
    svg = svg.replace("<svg ", '<svg class="qr__image" aria-hidden="true" focusable="false" ', 1)
    return Markup(svg)  # generated here from our own URL: nothing user-supplied


def _qr_context(certificate: dict, kind: str) -> dict:
    now = clock.now()
    token = tokens.make_token(secret_keys(), certificate["id"], kind, now)
    url = verify_url(token)
    return {"certificate": certificate, "qr": qr_svg(url), "verify_url": url, "now": now}


def _restriction_summary(id_number: str):
    return rules.summarise(
        entries.entries_for(get_db(), id_number),
        clock.today(),
        current_app.config["EXPIRY_WARNING_DAYS"],
    )


def _index_page(form: forms.IssueForm):
    db = get_db()
    now = clock.now()
    certificates = store.certificates_for(db, current_user.id_number)
    for certificate in certificates:
        certificate["status"] = store.status(certificate, now)
    return render_template(
        "certificates/index.html",
        form=form,
        summary=_restriction_summary(current_user.id_number),
        certificates=certificates,
    )


# ------------------------------------------------------------------------- residents


@bp.get("/certificates")
@resident_required
def index():
    return _index_page(forms.IssueForm(formdata=None))


@bp.post("/certificates")
@resident_required
def issue():
    form = forms.IssueForm()
    if not form.validate():
        return _index_page(form)
    db = get_db()
    with write_transaction(db):
        # Checked in the issuing transaction. A listing that lands just after (possible
        # on PostgreSQL, which has no database-wide write lock) still counts: every
        # scan checks restrictions live.
        if store.has_restrictions(db, current_user.id_number, clock.today().isoformat()):
            return redirect(url_for("certificates.index"), code=303)
        certificate = store.create(
            db,
            current_user.id_number,
            form.purpose.data,
            form.audience.data,
            clock.now().replace(microsecond=0),
            form.days.data,
        )
        audit.record(
            db,
            current_user.audit_name,
            "certificate_issued",
            current_user.id_number,
            {"certificate_id": certificate["id"], "purpose": form.purpose.data,
             "days": form.days.data, "audience": form.audience.data or None},
        )
    return redirect(url_for("certificates.show", certificate_id=certificate["id"]), code=303)


@bp.get("/certificates/<certificate_id>")
@resident_required
def show(certificate_id: str):
    certificate = _own_certificate_or_404(certificate_id)
    certificate["status"] = store.status(certificate, clock.now())
    db = get_db()
    scans, scan_total = store.scan_history(db, certificate_id)
    return render_template(
        "certificates/show.html",
        scans=scans,
        scan_total=scan_total,
        resident=entries.register_record(db, current_user.id_number),
        refresh_seconds=tokens.SCREEN_REFRESH,
        **_qr_context(certificate, tokens.SCREEN),
    )


@bp.get("/certificates/<certificate_id>/qr")
@resident_required
def qr(certificate_id: str):
    """A fresh on-screen QR: the htmx poll swaps only this; anything else gets the page."""
    if not is_partial_request():
        return redirect(url_for("certificates.show", certificate_id=certificate_id), code=303)
    certificate = _own_certificate_or_404(certificate_id)
    certificate["status"] = store.status(certificate, clock.now())
    return render_template(
        "certificates/_qr.html",
        refresh_seconds=tokens.SCREEN_REFRESH,
        **_qr_context(certificate, tokens.SCREEN),
    )


@bp.get("/certificates/<certificate_id>/print")
@resident_required
def print_version(certificate_id: str):
    certificate = _own_certificate_or_404(certificate_id)
    certificate["status"] = store.status(certificate, clock.now())
    return render_template(
        "certificates/print.html",
        resident=entries.register_record(get_db(), current_user.id_number),
        **_qr_context(certificate, tokens.PRINT),
    )


@bp.get("/certificates/<certificate_id>/revoke")
@resident_required
def revoke_confirm(certificate_id: str):
    """Ask before revoking (it cannot be undone); the page's form posts to revoke."""
    certificate = _own_certificate_or_404(certificate_id)
    if store.status(certificate, clock.now()) != "valid":
        return redirect(url_for("certificates.show", certificate_id=certificate_id), code=303)
    return render_template("certificates/revoke.html", certificate=certificate)


@bp.post("/certificates/<certificate_id>/revoke")
@resident_required
def revoke(certificate_id: str):
    certificate = _own_certificate_or_404(certificate_id)
    db = get_db()
    with write_transaction(db):
        if store.revoke(db, current_user.id_number, certificate_id, clock.iso_now()):
            audit.record(
                db,
                current_user.audit_name,
                "certificate_revoked",
                current_user.id_number,
                {"certificate_id": certificate_id},
            )
    if is_partial_request():
        certificate = store.certificate_for(db, current_user.id_number, certificate_id)
        certificate["status"] = store.status(certificate, clock.now())
        return render_template(
            "certificates/_row.html", certificate=certificate, just_revoked=True,
        )
    return redirect(url_for("certificates.index"), code=303)


# ------------------------------------------------------------------------- verifiers


def _decide(token: str) -> tuple[tokens.Outcome, datetime]:
    """Verify a token and log the scan in this request; `unavailable` when the database
    cannot be read or written (never shown as valid)."""
    now = clock.now()
    try:
        db = get_db()
        outcome = tokens.verify(db, token, secret_keys(), now, clock.today().isoformat())
        # Only a genuine token naming a known certificate has a holder to log for.
        if outcome.certificate is not None:
            store.log_scan(db, outcome.certificate["id"], outcome.certificate["id_number"],
                           now.isoformat(timespec="seconds"), outcome.reason,
                           tokens.browser_family(request.headers.get("User-Agent")))
    except SQLAlchemyError:
        current_app.logger.exception("certificate verification could not use the database")
        return tokens.Outcome(tokens.VERDICT_UNAVAILABLE, "unavailable"), now
    return outcome, now


def _holder(outcome: tokens.Outcome) -> dict | None:
    """Masked holder details, for a valid verdict only."""
    if outcome.verdict != tokens.VERDICT_VALID:
        return None
    certificate = outcome.certificate
    return {
        "name_masked": mask_name(certificate["name"]),
        "id_masked": mask_id(certificate["id_number"]),
        "purpose": certificate["purpose"],
        "audience": certificate["audience"],
        "expires_at": certificate["expires_at"],
    }


@bp.get("/v/", defaults={"token": ""})
@bp.get("/v/<path:token>")
@verify_limit
def verify_page(token: str):
    outcome, now = _decide(token)
    status = 503 if outcome.verdict == tokens.VERDICT_UNAVAILABLE else 200
    return (
        render_template(
            "certificates/verify.html",
            verdict=outcome.verdict,
            holder=_holder(outcome),
            checked_at=now,
        ),
        status,
    )


@bp.get("/api/v1/verify/", defaults={"token": ""})
@bp.get("/api/v1/verify/<path:token>")
@verify_limit
def verify_api(token: str):
    outcome, now = _decide(token)
    body: dict = {"verdict": outcome.verdict, "checked_at": now.isoformat(timespec="seconds")}
    holder = _holder(outcome)
    if holder:
        body.update(
            holder={"name_masked": holder["name_masked"], "id_masked": holder["id_masked"]},
            purpose=holder["purpose"],
            audience=holder["audience"],
            expires_at=holder["expires_at"],
        )
    response = jsonify(body)
    response.status_code = 503 if outcome.verdict == tokens.VERDICT_UNAVAILABLE else 200
    return response


@bp.get("/api/v1/openapi.json")
def openapi_document() -> Response:
    return jsonify(openapi.document(request.host_url.rstrip("/")))


@bp.errorhandler(429)
def too_many(_error):
    if request.path.startswith("/api/"):
        response = jsonify(
            {"error": "rate_limited", "message": "Too many verifications from this address. "
             "Wait a minute, then try again."}
        )
    else:
        response = make_response(render_error(
            429, _l("Too many checks from this connection. Wait a minute, then scan the code again.")
        ))
    response.status_code = 429
    return response


def init_app(app: Flask) -> None:
    """Register this capability's blueprint and what its templates use."""
    app.register_blueprint(bp)
    app.jinja_env.globals.update(certificate_purposes=forms.PURPOSES,
                                 certificate_statuses=forms.STATUSES)
    # Verification is anonymous: the verifier's pages and API never read the session, so
    # a scan from a phone that is signed in here is not tied to its account, and every
    # verifier sees the same page.
    serve_without_session(app, "/v/", "/api/v1/")
