"""Routes of the certificates capability (thin: validation and data work live beside them).

Residents: /certificates (issue, list, revoke), /certificates/<id> (QR that refreshes),
/certificates/<id>/print. Verifiers, without an account: /v/<token> (page) and
/api/v1/verify/<token> (JSON), rate limited per client address.
"""
import json
import os
import sqlite3
import time
from datetime import datetime
from functools import lru_cache

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from markupsafe import Markup

from .. import audit, clock, limiter, navigation
from ..auth.roles import refuse_read, resident_required
from ..db import get_db, write_transaction
from ..htmx import is_partial_request
from ..i18n import N_
from ..i18n import lazy_gettext as _l
from ..identity import mask_id, mask_name
from ..records import entries, rules
from ..sessions import serve_without_session
from . import openapi, scan_log, store, tokens
from .forms import PURPOSE_LABELS, IssueForm

bp = Blueprint("certificates", __name__)
navigation.register("certificates.index", N_("Certificates"), order=50)


# ---------------------------------------------------------------------------- settings


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()] or None


def secret_keys() -> list[str]:
    """Signing secrets, newest first; the app's SECRET_KEY when none are configured."""
    configured = current_app.config.get("CERTIFICATE_SECRETS")
    if isinstance(configured, str):
        configured = [part.strip() for part in configured.split(",") if part.strip()]
    return list(configured) if configured else [current_app.config["SECRET_KEY"]]


def _verify_rate_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


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


def _index_page(form: IssueForm, status: int = 200):
    db = get_db()
    summary = _restriction_summary(current_user.id_number)
    now = clock.now()
    certificates = store.certificates_for(db, current_user.id_number)
    for certificate in certificates:
        certificate["status"] = store.status(certificate, now)
    return (
        render_template(
            "certificates/index.html",
            form=form,
            errors=form.errors,
            summary=summary,
            certificates=certificates,
            purposes=PURPOSE_LABELS,
            validity_days=store.VALIDITY_DAYS,
        ),
        status,
    )


# ------------------------------------------------------------------------- residents


@bp.get("/certificates")
@resident_required
def index():
    return _index_page(IssueForm())


@bp.post("/certificates")
@resident_required
def issue():
    form = IssueForm.from_request(request.form)
    if not form.validate():
        return _index_page(form)
    db = get_db()
    with write_transaction(db):
        # Checked inside the write lock, so a listing cannot slip in between.
        if store.has_restrictions(db, current_user.id_number, clock.today().isoformat()):
            return redirect(url_for("certificates.index"), code=303)
        certificate = store.create(
            db,
            current_user.id_number,
            form.purpose,
            form.audience,
            clock.now().replace(microsecond=0),
            int(form.days),
        )
        audit.record(
            db,
            current_user.audit_name,
            "certificate_issued",
            current_user.id_number,
            {"certificate_id": certificate["id"], "purpose": form.purpose,
             "days": int(form.days), "audience": form.audience or None},
        )
    return redirect(url_for("certificates.show", certificate_id=certificate["id"]), code=303)


@bp.get("/certificates/<certificate_id>")
@resident_required
def show(certificate_id: str):
    certificate = _own_certificate_or_404(certificate_id)
    certificate["status"] = store.status(certificate, clock.now())
    db = get_db()
    scans, scan_total = scan_log.history(db, certificate_id)
    return render_template(
        "certificates/show.html",
        scans=scans,
        scan_total=scan_total,
        purposes=PURPOSE_LABELS,
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
        purposes=PURPOSE_LABELS,
        resident=entries.register_record(get_db(), current_user.id_number),
        **_qr_context(certificate, tokens.PRINT),
    )


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
            "certificates/_row.html", certificate=certificate, purposes=PURPOSE_LABELS,
            just_revoked=True,
        )
    return redirect(url_for("certificates.index"), code=303)


# ------------------------------------------------------------------------- verifiers


def _decide(token: str) -> tuple[tokens.Outcome, datetime]:
    """Verify a token and log the scan; `unavailable` when the database fails."""
    now = clock.now()
    try:
        db = get_db()
        outcome = tokens.verify(db, token, secret_keys(), now, clock.today().isoformat())
        # Only a genuine token naming a known certificate has a holder to log for.
        if outcome.certificate is not None:
            scan_log.record(
                db,
                current_app.config["DATABASE"],
                outcome.certificate["id"],
                outcome.certificate["id_number"],
                now.isoformat(timespec="seconds"),
                outcome.reason,
                tokens.browser_family(request.headers.get("User-Agent")),
            )
    except sqlite3.Error:
        current_app.logger.exception("certificate verification could not read the database")
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


VERIFY_LIMIT_SCOPE = "certificate-verify"


@lru_cache(maxsize=8)
def _parsed_limits(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


def _count_verification() -> None:
    """Count this verification against the client address's limit; 429 when over.

    The limit is Flask-Limiter's (its strategy and storage, from the RATELIMIT_*
    settings), checked directly: its route decorator also resolves, filters and reports
    limits on every request, which was a quarter of a verification's work (measured).
    The response reports the limit nearest to running out, as Flask-Limiter's headers do.
    """
    if not limiter.enabled:
        return
    key = (current_app.config.get("RATELIMIT_KEY_PREFIX", ""), VERIFY_LIMIT_SCOPE,
           get_remote_address())
    nearest = None
    breached = False
    for limit in _parsed_limits(_verify_rate_limit()):
        if not limiter.limiter.hit(limit, *key):
            breached = True
        window = limiter.limiter.get_window_stats(limit, *key)
        if nearest is None or window.remaining < nearest[1].remaining:
            nearest = (limit, window)
    if nearest is not None:
        g.verify_limit = nearest
    if breached:
        abort(429)


@bp.after_request
def rate_limit_headers(response: Response) -> Response:
    """X-RateLimit-* on every verification answer, Retry-After when refused."""
    counted = g.get("verify_limit")
    if counted is None:
        return response
    limit, window = counted
    if current_app.config.get("RATELIMIT_HEADERS_ENABLED"):
        response.headers["X-RateLimit-Limit"] = str(limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(window.remaining)
        response.headers["X-RateLimit-Reset"] = str(int(window.reset_time))
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, int(window.reset_time - time.time()) + 1))
    return response


@bp.get("/v/", defaults={"token": ""})
@bp.get("/v/<path:token>")
def verify_page(token: str):
    _count_verification()
    outcome, now = _decide(token)
    status = 503 if outcome.verdict == tokens.VERDICT_UNAVAILABLE else 200
    return (
        render_template(
            "certificates/verify.html",
            verdict=outcome.verdict,
            holder=_holder(outcome),
            checked_at=now,
            purposes=PURPOSE_LABELS,
        ),
        status,
    )


@bp.get("/api/v1/verify/", defaults={"token": ""})
@bp.get("/api/v1/verify/<path:token>")
def verify_api(token: str):
    _count_verification()
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
    return Response(_VERDICT_JSON.encode(body) + "\n",
                    status=503 if outcome.verdict == tokens.VERDICT_UNAVAILABLE else 200,
                    mimetype="application/json")


# The bytes jsonify writes outside debug mode (sorted keys, compact, ASCII), from one
# encoder: jsonify builds a new one for every answer (2% of a verification, measured).
_VERDICT_JSON = json.JSONEncoder(ensure_ascii=True, sort_keys=True, separators=(",", ":"))


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
        from .. import render_error

        response = make_response(render_error(
            429, _l("Too many checks from this connection. Wait a minute, then scan the code again.")
        ))
    response.status_code = 429
    return response


def init_app(app: Flask) -> None:
    """Register this capability's blueprints, CLI commands and template helpers."""
    app.config.setdefault("CERTIFICATE_SECRETS", _env_list("CREDIT_SELF_CERTIFICATE_SECRETS"))
    app.config.setdefault(
        "VERIFY_RATE_LIMIT", os.environ.get("CREDIT_SELF_VERIFY_RATE_LIMIT", "60 per minute")
    )
    app.config.setdefault("PUBLIC_BASE_URL", os.environ.get("CREDIT_SELF_PUBLIC_BASE_URL"))
    app.register_blueprint(bp)
    # Verification is anonymous: the verifier's pages and API never read the session, so
    # a scan from a phone that is signed in here is not tied to its account, and every
    # verifier sees the same page.
    serve_without_session(app, "/v/", "/api/v1/")
