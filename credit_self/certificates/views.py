"""Routes of the certificates capability (thin: validation and data work live beside them).

Residents: /certificates (issue, list, revoke), /certificates/<id> (QR that refreshes),
/certificates/<id>/print. Verifiers, without an account: /v/<token> (page) and
/api/v1/verify/<token> (JSON), rate limited per client address.
"""
from datetime import datetime, timedelta
from pathlib import Path

import click
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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.exceptions import NotFound

from .. import audit, clock, registry, signals
from ..i18n import N_
from ..auth.roles import refuse_read, resident_required
from ..db import get_db, write_transaction
from ..errors import render_error
from ..extensions import limiter
from ..htmx import is_partial_request
from ..identity import mask_id, mask_name
from ..records import entries, rules
from ..sessions import serve_without_session
from . import credentials, forms, openapi, statements, store, tokens
from . import issuer_keys as issuer_keys_module

bp = Blueprint("certificates", __name__)
registry.add_resident_page("certificates.index", N_("Certificates"), order=50)


# ---------------------------------------------------------------------------- settings


def secret_keys() -> list[str]:
    """Signing secrets, newest first; the app's SECRET_KEY when none are configured."""
    configured = current_app.config.get("CERTIFICATE_SECRETS")
    if isinstance(configured, str):
        configured = [part.strip() for part in configured.split(",") if part.strip()]
    return list(configured) if configured else [current_app.config["SECRET_KEY"]]


def issuer_keys() -> list[issuer_keys_module.IssuerKey]:
    """The offline credentials' signing keys, newest first (made on first use)."""
    return issuer_keys_module.load(Path(current_app.config["CERTIFICATE_ISSUER_KEY_DIR"]),
                                   clock.now())


def base_url() -> str:
    """The configured public address (PUBLIC_BASE_URL), else the request's host: what QR
    codes and credentials name."""
    return (current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")


def public_url(endpoint: str, **values) -> str:
    return base_url() + url_for(endpoint, **values)


# One limit per client address for the page and the API together.
verify_limit = limiter.shared_limit(lambda: current_app.config["VERIFY_RATE_LIMIT"],
                                    scope="certificate-verify")


# --------------------------------------------------------------------------- helpers


def _own_certificate_or_404(certificate_id: str) -> dict:
    db = get_db()
    certificate = store.certificate_for(db, current_user.id_number, certificate_id)
    if certificate is None:
        refuse_read("certificate_read_refused", {"certificate_id": certificate_id})
    return certificate


def verify_url(token: str) -> str:
    """The absolute URL the QR encodes; PUBLIC_BASE_URL overrides the request's host."""
    return public_url("certificates.verify_page", token=token)


def offline_verify_url(credential: str) -> str:
    """The offline QR's URL: the credential rides in the fragment, which browsers never
    send, so opening it tells this service nothing."""
    return public_url("certificates.offline_verifier") + "#" + credential


def qr_svg(data: str, error_correction: int = qrcode.constants.ERROR_CORRECT_M) -> Markup:
    """An SVG QR code (white quiet zone included) for `data`, safe to embed."""
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathFillImage,
        error_correction=error_correction,
    )
    svg = image.to_string(encoding="unicode")
    # Sized by CSS, not millimetres; announced by the text beside it.
    svg = svg.replace("<svg ", '<svg class="qr__image" aria-hidden="true" focusable="false" ', 1)
    return Markup(svg)  # generated here from our own URL: nothing user-supplied


def _qr_context(certificate: dict, kind: str) -> dict:
    now = clock.now()
    credential = store.credential_for(get_db(), certificate["id"])
    if credential is not None:
        # Offline: the QR holds the credential itself (low error correction keeps a
        # 900-character code scannable on a phone screen).
        url = offline_verify_url(credential["credential"])
        return {"certificate": certificate, "now": now, "verify_url": url,
                "credential": credential["credential"],
                "qr": qr_svg(url, qrcode.constants.ERROR_CORRECT_L)}
    token = tokens.make_token(secret_keys(), certificate["id"], kind, now)
    url = verify_url(token)
    return {"certificate": certificate, "qr": qr_svg(url), "verify_url": url, "now": now,
            "credential": None}


def _restriction_summary(id_number: str):
    return rules.summarise(
        entries.entries_for(get_db(), id_number),
        clock.today(),
        current_app.config["EXPIRY_WARNING_DAYS"],
    )


def _active_entries() -> tuple[list[dict], dict[int, dict]]:
    """The resident's active blacklist entries (what statements deny), and the records'
    own view of each (its list's name, its page) by id."""
    active = store.active_blacklist_entries(get_db(), current_user.id_number,
                                            clock.today().isoformat())
    if not active:
        return active, {}
    return active, {entry["id"]: entry
                    for entry in _restriction_summary(current_user.id_number).active}


def _false_statements() -> dict[str, list[dict]]:
    """The statements the resident cannot have today, with the entries that stop each."""
    return statements.false_statements(_active_entries()[0])


def _judged(*certificates: dict, active_entries=None) -> None:
    """Give each of the resident's certificates what a verifier would be told now
    (`status`) and the entries that stop it (`restricted_by`). `active_entries`:
    _active_entries() when the caller has it already."""
    active, by_id = active_entries or _active_entries()
    now = clock.now()
    for certificate in certificates:
        certificate["status"] = store.status(certificate, now, active)
        certificate["restricted_by"] = [
            by_id[entry["id"]] for entry in store.restricting_entries(certificate, active)
            if entry["id"] in by_id]


def _index_page(form: forms.IssueForm):
    certificates = store.certificates_for(get_db(), current_user.id_number)
    active, by_id = _active_entries()
    _judged(*certificates, active_entries=(active, by_id))
    blocked = {statement: [by_id[entry["id"]] for entry in found if entry["id"] in by_id]
               for statement, found in statements.false_statements(active).items()}
    return render_template(
        "certificates/index.html",
        form=form,
        blocked=blocked,
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
        # scan checks the statements live.
        false_now = _false_statements()
        untrue = [code for code in form.statements.data if code in false_now]
        if untrue:
            form.add_error("statements", _(
                "Not true today, so it cannot be issued: %(names)s",
                names=_("; ").join(str(statements.STATEMENTS.label(code)) for code in untrue)))
            return _index_page(form)
        certificate = store.create(
            db,
            current_user.id_number,
            form.purpose.data,
            form.audience.data,
            clock.now().replace(microsecond=0),
            timedelta(hours=form.hours.data),
            tuple(form.statements.data),
        )
        if form.mode.data == forms.OFFLINE:
            _add_credential(db, certificate)
        audit.record(
            db,
            current_user.audit_name,
            "certificate_issued",
            current_user.id_number,
            {"certificate_id": certificate["id"], "purpose": form.purpose.data,
             "hours": form.hours.data, "audience": form.audience.data or None,
             "statements": certificate["statements"], "mode": form.mode.data},
        )
    return redirect(url_for("certificates.show", certificate_id=certificate["id"]), code=303)


def _sign_credential(db, certificate: dict, list_id: str, index: int) -> None:
    """Sign the certificate's SD-JWT VC, pointing at its status bit, and keep it."""
    resident = entries.register_record(db, certificate["id_number"])
    credential = credentials.issue(
        issuer_keys()[0],
        issuer=base_url(),
        issued_at=datetime.fromisoformat(certificate["issued_at"]),
        expires_at=datetime.fromisoformat(certificate["expires_at"]),
        name_masked=mask_name(resident["name"]),
        id_masked=mask_id(certificate["id_number"]),
        purpose=certificate["purpose"],
        audience=certificate["audience"],
        statements=statements.decode(certificate["statements"]),
        status_uri=public_url("certificates.status_list_token", list_id=list_id),
        status_index=index,
    )
    store.add_credential(db, certificate["id"], list_id, index, credential)


def _add_credential(db, certificate: dict) -> None:
    """Sign the certificate's SD-JWT VC and give it a status bit (in the issuing
    transaction). Two issues at once on PostgreSQL may draw the same random index: the
    unique index refuses the second, which draws again in a fresh savepoint."""
    for attempt in range(3):
        try:
            with write_transaction(db):
                list_id, index = store.allocate_status(db, certificate["issued_at"])
                _sign_credential(db, certificate, list_id, index)
            return
        except IntegrityError:
            if attempt == 2:
                raise


@bp.get("/certificates/<certificate_id>")
@resident_required
def show(certificate_id: str):
    certificate = _own_certificate_or_404(certificate_id)
    _judged(certificate)
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
    _judged(certificate)
    return render_template(
        "certificates/_qr.html",
        refresh_seconds=tokens.SCREEN_REFRESH,
        **_qr_context(certificate, tokens.SCREEN),
    )


@bp.get("/certificates/<certificate_id>/print")
@resident_required
def print_version(certificate_id: str):
    certificate = _own_certificate_or_404(certificate_id)
    _judged(certificate)
    return render_template(
        "certificates/print.html",
        resident=entries.register_record(get_db(), current_user.id_number),
        **_qr_context(certificate, tokens.PRINT),
    )


@bp.get("/certificates/<certificate_id>/report.pdf")
@resident_required
def report_pdf(certificate_id: str):
    """The report as an A4 PDF in the reader's language, CJK fonts embedded."""
    certificate = _own_certificate_or_404(certificate_id)
    _judged(certificate)
    if certificate["status"] != store.VALID:
        return render_error(404, _l("This certificate is no longer valid, so there is nothing to print."))
    html = render_template(
        "certificates/report.pdf.html",
        resident=entries.register_record(get_db(), current_user.id_number),
        **_qr_context(certificate, tokens.PRINT),
    )
    # Imported here: WeasyPrint loads Pango when imported, and the rest of the app must
    # start on a machine without it.
    import weasyprint

    pdf = weasyprint.HTML(string=html, base_url=request.url_root).write_pdf()
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="credit-report-{certificate["issued_at"][:10]}.pdf"'})


@bp.get("/certificates/<certificate_id>/revoke")
@resident_required
def revoke_confirm(certificate_id: str):
    """Ask before revoking (it cannot be undone); the page's form posts to revoke."""
    certificate = _own_certificate_or_404(certificate_id)
    _judged(certificate)
    if certificate["status"] not in (store.VALID, store.RESTRICTED):
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
        _judged(certificate)
        return render_template(
            "certificates/_row.html", certificate=certificate, just_revoked=True,
        )
    return redirect(url_for("certificates.index"), code=303)


# ------------------------------------------------------------------------- verifiers


def _decide(token: str, declaration: forms.DeclarationForm) -> tuple[tokens.Outcome, datetime]:
    """Verify a token and log the scan, with what the verifier declared, in this request;
    `unavailable` when the database cannot be read or written (never shown as valid)."""
    now = clock.now()
    try:
        db = get_db()
        outcome = tokens.verify(db, token, secret_keys(), now, clock.today().isoformat())
        # Only a genuine token naming a known certificate has a holder to log for.
        if outcome.certificate is not None:
            store.log_scan(db, outcome.certificate["id"], outcome.certificate["id_number"],
                           now.isoformat(timespec="seconds"), outcome.reason,
                           tokens.browser_family(request.headers.get("User-Agent")),
                           declaration.who.data, declaration.why.data)
    except SQLAlchemyError:
        current_app.logger.exception("certificate verification could not use the database")
        return tokens.Outcome(tokens.VERDICT_UNAVAILABLE, "unavailable"), now
    return outcome, now


def _declaration() -> forms.DeclarationForm:
    """The verifier's optional declaration, from the query string."""
    return forms.DeclarationForm(formdata=request.args)


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
        "statements": statements.decode(certificate["statements"]),
    }


@bp.get("/v/", defaults={"token": ""})
@bp.get("/v/<path:token>")
@verify_limit
def verify_page(token: str):
    declaration = _declaration()
    if not declaration.validate():
        # Nothing is checked or logged until the declaration is one the log can keep.
        return render_template("certificates/verify.html", verdict=None, holder=None,
                               checked_at=clock.now(), declaration=declaration), 400
    outcome, now = _decide(token, declaration)
    status = 503 if outcome.verdict == tokens.VERDICT_UNAVAILABLE else 200
    return (
        render_template(
            "certificates/verify.html",
            verdict=outcome.verdict,
            holder=_holder(outcome),
            checked_at=now,
            declaration=declaration,
        ),
        status,
    )


@bp.get("/api/v1/verify/", defaults={"token": ""})
@bp.get("/api/v1/verify/<path:token>", merge_slashes=False)
@verify_limit
def verify_api(token: str):
    declaration = _declaration()
    if not declaration.validate():
        response = jsonify({"error": "invalid_declaration",
                            "message": " ".join(str(message) for _, message
                                                in declaration.error_list())})
        response.status_code = 400
        return response
    outcome, now = _decide(token, declaration)
    body: dict = {"verdict": outcome.verdict, "checked_at": now.isoformat(timespec="seconds")}
    holder = _holder(outcome)
    if holder:
        body.update(
            holder={"name_masked": holder["name_masked"], "id_masked": holder["id_masked"]},
            purpose=holder["purpose"],
            audience=holder["audience"],
            expires_at=holder["expires_at"],
            statements=list(holder["statements"]),
        )
    response = jsonify(body)
    response.status_code = 503 if outcome.verdict == tokens.VERDICT_UNAVAILABLE else 200
    return response


def _judge_unrouted_token(_error: NotFound):
    """Text after /api/v1/verify/ that the route misses (a line break, a leading slash)
    is a token like any other and gets its verdict, not an HTML 404 page."""
    prefix = "/api/v1/verify/"
    if request.path.startswith(prefix):
        return verify_api(request.path.removeprefix(prefix))
    return render_error(404)


@bp.get("/api/v1/openapi.json")
def openapi_document() -> Response:
    return jsonify(openapi.document(request.host_url.rstrip("/")))


# ---------------------------------------------------------------- offline verification
STATUS_LIST_TTL = 300  # seconds: a status list is never older than this when served


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The issuer's public keys, older ones while credentials they signed may live."""
    keys = issuer_keys_module.published(issuer_keys(), clock.now(), store.LONGEST_VALIDITY)
    response = jsonify({"keys": [key.public_jwk() for key in keys]})
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/status/<list_id>")
def status_list_token(list_id: str) -> Response:
    """The Token Status List: remade when older than STATUS_LIST_TTL or when a bit in it
    changed (a revocation, a new entry), so it says when it was made."""
    db = get_db()
    found = store.status_list(db, list_id)
    if found is None:
        return render_error(404, _l("There is no status list here."))
    now = clock.now()
    made_at = found["token_made_at"] and datetime.fromisoformat(found["token_made_at"])
    token = found["token"]
    if token is None or (now - made_at).total_seconds() >= STATUS_LIST_TTL:
        made_at = now.replace(microsecond=0)
        token = credentials.status_list_token(
            issuer_keys()[0], uri=public_url("certificates.status_list_token", list_id=list_id),
            size=found["size"], made_at=made_at, ttl=STATUS_LIST_TTL,
            invalid=store.invalid_indexes(db, list_id, now.isoformat(timespec="seconds"),
                                          clock.today().isoformat()))
        with write_transaction(db):
            store.save_status_token(db, list_id, token, made_at.isoformat(timespec="seconds"))
    response = make_response(token)
    response.mimetype = "application/statuslist+jwt"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/verify")
def offline_verifier():
    """The offline verifier: reads the credential from the URL fragment, the camera or
    pasted text, and checks it in the browser (static/js/offline-verifier.js)."""
    db = get_db()
    config = {
        "jwks": url_for("certificates.jwks"),
        "serviceWorker": url_for("certificates.verifier_service_worker"),
        "scope": url_for("certificates.offline_verifier"),
        # Every list a live credential points to, fetched now to be there offline.
        "statusLists": [url_for("certificates.status_list_token", list_id=list_id)
                        for list_id in store.live_status_lists(
                            db, clock.now().isoformat(timespec="seconds"))],
        "statements": {code: str(label) for code, label in statements.STATEMENTS},
        "purposes": {code: str(label) for code, label in forms.PURPOSES},
        "text": {key: str(text) for key, text in forms.VERIFIER_TEXT.items()},
    }
    response = make_response(render_template(
        "certificates/offline_verifier.html", verifier_config=config,
        jwks_url=public_url("certificates.jwks")))
    # The one page here that may use the camera: for scanning the QR.
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(), geolocation=()"
    return response


@bp.get("/verify-sw.js")
def verifier_service_worker() -> Response:
    """The verifier's service worker, served from the root so it may control /verify."""
    script = Path(current_app.static_folder, "js", "verifier-sw.js").read_bytes()
    return Response(script, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


@bp.cli.command("rotate-issuer-key")
def rotate_issuer_key() -> None:
    """Add a new Ed25519 issuer key: it signs from now on; older keys stay published
    while credentials they signed may still be valid."""
    key_dir = Path(current_app.config["CERTIFICATE_ISSUER_KEY_DIR"])
    issuer_keys_module.create(key_dir, clock.now())
    newest = issuer_keys_module.load(key_dir, clock.now())[0]
    click.echo(f"New issuer key {newest.kid} in {key_dir}")


@signals.entry_changed.connect
def _entry_changed(_sender, conn, id_number: str, **_details) -> None:
    """A new or changed entry may make a statement false: the next status list holding
    this resident's credentials is made afresh, not up to five minutes later."""
    store.expire_status_tokens(conn, id_number=id_number)


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
    app.register_error_handler(NotFound, _judge_unrouted_token)
    app.jinja_env.globals.update(certificate_purposes=forms.PURPOSES,
                                 certificate_statuses=forms.STATUSES,
                                 certificate_statements=statements.STATEMENTS,
                                 certificate_mode_hints=forms.MODE_HINTS)
    # Verification is anonymous: the verifier's pages and API never read the session, so
    # a scan from a phone that is signed in here is not tied to its account, and every
    # verifier sees the same page.
    serve_without_session(app, "/v/", "/api/v1/", "/.well-known/", "/status/", "/verify")
