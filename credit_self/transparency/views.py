"""Routes of the transparency capability (thin: validation and data work live beside them).

Blueprints:
- "transparency" (residents): /me/access (who looked at my record), /me/export (my data);
  (anyone, without a session) /audit/checkpoints and /audit/public-key, which publish the
  audit log's signed checkpoints and the key that checks them.
- "transparency_admin" (staff, under /admin): /admin/imports (list feeds, superadmin),
  /admin/audit (audit log viewer, superadmin).
"""
from pathlib import Path

import click
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import audit, audit_keys, clock, registry
from ..auth.roles import resident_required, staff_required
from ..db import engine_for, get_db
from ..errors import render_error
from ..formatters import localized
from ..htmx import is_partial_request
from ..i18n import N_
from ..records import entries as record_entries
from ..records import rules as record_rules
from ..routing import parse_id
from ..security import allows_large_upload
from ..sessions import serve_without_session
from . import data, forms, imports, openapi, readable

bp = Blueprint("transparency", __name__)
admin_bp = Blueprint("transparency_admin", __name__, url_prefix="/admin")

# Published checkpoints: so many to a page, and how long caches may keep the answers.
CHECKPOINTS_PAGE = 100
CHECKPOINTS_MAX_AGE = 60
PUBLIC_KEY_MAX_AGE = 300

# Who may use each admin page (the role-matrix test reads these).
IMPORT_ROLES = ("superadmin",)
AUDIT_ROLES = ("superadmin",)

openapi.register()
registry.add_resident_page("transparency.access_log", N_("Who looked"), order=60)
registry.add_resident_page("transparency.export", N_("Your data"), order=70)
registry.add_admin_tool(
    "transparency_admin.imports", N_("List imports"),
    N_("Load a department's list feed after checking every row."), roles=IMPORT_ROLES,
)
registry.add_admin_tool(
    "transparency_admin.audit_log", N_("Audit log"),
    N_("Search who did what, and check that the log has not been altered."), roles=AUDIT_ROLES,
)

# What each audit action means to the resident. Unknown actions fall back by prefix,
# then to a general phrase (see action_label).
ACTION_LABELS = {
    "correction_case_opened": _l("reviewed a correction"),
    "correction_opened": _l("reviewed a correction"),
    "correction_case_read": _l("reviewed a correction"),
    "correction_viewed": _l("reviewed a correction"),
    "correction_decided": _l("decided on a correction"),
    "list_entry_imported": _l("imported an entry"),
    "score_event_recorded": _l("recorded a pilot event"),
    "pilot_event_recorded": _l("recorded a pilot event"),
    "pilot_resident_lookup": _l("looked you up in a scoring pilot"),
    "certificate_verified": _l("verified a certificate"),
    "certificate_scanned": _l("verified a certificate"),
    "entry_read_refused": _l("tried to open one of your entries and was refused"),
    "sign_in_failed": _l("tried to sign in to your account with a wrong password"),
}
ACTION_PREFIXES = (
    ("correction", _l("reviewed a correction")),
    ("certificate", _l("verified a certificate")),
    ("verif", _l("verified a certificate")),
    ("score", _l("recorded a pilot event")),
    ("pilot", _l("recorded a pilot event")),
    ("list_", _l("imported an entry")),
    ("entry", _l("looked at or changed a list entry")),
)
ROLE_LABELS = readable.ROLE_WORDS


def action_label(action: str):
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    if action.endswith("_refused"):
        return _l("tried to open part of your record and was refused")
    for prefix, label in ACTION_PREFIXES:
        if action.startswith(prefix):
            return label
    return _l("did something else with your record")


def who_label(who: data.Actor):
    if who.kind == "staff":
        return ROLE_LABELS.get(who.role or "", _l("Official"))
    if who.kind == "anonymous":
        return _l("Someone without an account (for example a certificate verifier)")
    if who.kind == "system":
        return _l("The system or a source department")
    if who.kind == "resident":
        return ROLE_LABELS["resident"]
    return _l("Someone else")


def _before_arg() -> int | None:
    """The `before` cursor of "Load more": a sequence number, or nothing at all. Any
    other value (such as "²", which str.isdigit accepts) is a 400 that says why."""
    value = request.args.get("before", "")
    if not value:
        return None
    cursor = parse_id(value)
    if cursor is None:
        abort(make_response(*render_error(400, _l(
            "This address asks for a part of the list that does not exist. "
            "Open the page again from the menu to start from the newest."))))
    return cursor


# ---------------------------------------------------------------- residents


@bp.get("/me/access")
@resident_required
def access_log() -> str:
    """Every access to my record by anyone else, newest first, 'load more' pages."""
    rows, next_before = data.access_log(get_db(), current_user.id_number, _before_arg())
    context = {"rows": rows, "next_before": next_before}
    if is_partial_request():
        return render_template("transparency/_access_rows.html", **context)
    return render_template("transparency/access.html", **context)


@bp.get("/me/export")
@resident_required
def export() -> str:
    return render_template("transparency/export.html")


def _record_context() -> dict:
    """Every entry with its list, sanctions and state (and, once closed, when and why),
    the register details, and the moment the record was made."""
    db = get_db()
    found = record_entries.entries_for(db, current_user.id_number)
    today = clock.today()
    closing = record_entries.closing_changes(db, [entry["id"] for entry in found])
    for entry in found:
        entry["state"] = record_rules.entry_state(entry, today)
        entry["closing"] = closing.get(entry["id"])
    return {"entries": found, "made_at": clock.iso_now(),
            "resident": record_entries.register_record(db, current_user.id_number)}


@bp.get("/me/record/print")
@resident_required
def record_print() -> str:
    """The whole record on one page, to print or keep."""
    return render_template("transparency/record_print.html", **_record_context())


@bp.get("/me/record.pdf")
@resident_required
def record_pdf() -> Response:
    """The same record as an A4 PDF in the reader's language, CJK fonts embedded."""
    context = _record_context()
    html = render_template("transparency/record.pdf.html", **context)
    # Imported here: WeasyPrint loads Pango when imported, and the rest of the app must
    # start on a machine without it.
    import weasyprint

    pdf = weasyprint.HTML(string=html, base_url=request.url_root).write_pdf()
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="my-credit-record-{clock.today().isoformat()}.pdf"'})


# Each download: (media type, file name ending).
DOWNLOADS = {
    "json": ("application/json", ".json"),
    "csv": ("application/zip", "-csv.zip"),
    "sqlite": ("application/vnd.sqlite3", ".db"),
}


@bp.get("/me/export/<fmt>")
@resident_required
def export_download(fmt: str) -> Response:
    """JSON, or the CSV files in a zip."""
    if fmt not in ("json", "csv"):
        abort(404)
    return _download(fmt)


@bp.get("/me/export.db")
@resident_required
def export_sqlite() -> Response:
    """The SQLite file, which opens in Datasette."""
    return _download("sqlite")


def _download(fmt: str) -> Response:
    """The download itself is audited (a resident's own action: not in their access log)."""
    db = get_db()
    generated_at = clock.iso_now()
    export_data = data.export_data(db, current_user.id_number, generated_at)
    audit.record(
        db, current_user.audit_name, "data_exported", current_user.id_number, {"format": fmt}
    )
    if fmt == "json":
        body = data.export_json(export_data)
    else:
        tables = readable.tables(db, export_data, clock.today(), action_label)
        body = (readable.csv_zip if fmt == "csv" else readable.sqlite_file)(export_data, tables)
    mimetype, ending = DOWNLOADS[fmt]
    stamp = generated_at.replace(":", "").replace("-", "")[:15]
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="my-credit-data-{stamp}{ending}"'})


# ---------------------------------------------------------------- published anchors


def _api_error(status: int, message: str) -> Response:
    response = jsonify({"error": "bad_request", "message": message})
    response.status_code = status
    return response


def _cacheable(response: Response, seconds: int) -> Response:
    # The same for everyone (no session is read), so shared caches may keep it briefly.
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    return response


@bp.get("/audit/checkpoints")
def audit_checkpoints() -> Response:
    """The signed checkpoints, newest first, CHECKPOINTS_PAGE at a time; the next page's
    address is in the Link header (rel="next")."""
    before = request.args.get("before")
    cursor = parse_id(before) if before is not None else None
    if before is not None and cursor is None:
        return _api_error(400, "before must be a checkpoint number (a whole number).")
    found = audit.checkpoints(get_db(), cursor, CHECKPOINTS_PAGE + 1)
    response = jsonify([checkpoint.as_json() for checkpoint in found[:CHECKPOINTS_PAGE]])
    if len(found) > CHECKPOINTS_PAGE:
        next_page = url_for(".audit_checkpoints", before=found[CHECKPOINTS_PAGE - 1].id)
        response.headers["Link"] = f'<{next_page}>; rel="next"'
    return _cacheable(response, CHECKPOINTS_MAX_AGE)


@bp.get("/audit/public-key")
def audit_public_key() -> Response:
    """The key that checks the checkpoints: PEM (SubjectPublicKeyInfo), or a JSON Web
    Key with ?format=jwk."""
    key = audit.public_key()
    requested = request.args.get("format", "pem")
    if requested == "jwk":
        response = jsonify(audit_keys.jwk(key))
    elif requested == "pem":
        response = Response(audit_keys.public_pem(key), mimetype="text/plain")
    else:
        return _api_error(400, "format must be pem or jwk.")
    return _cacheable(response, PUBLIC_KEY_MAX_AGE)


# ---------------------------------------------------------------- list imports


def _import_form(conn, formdata=None) -> forms.ImportForm:
    lists = imports.known_lists(conn)
    names = [("", _l("Choose a list")),
             *((code, f"{localized(row, 'name')} ({code})") for code, row in lists.items())]
    kwargs = {} if formdata is None else {"formdata": formdata}
    return forms.ImportForm(lists=lists, list_names=names,
                            max_bytes=current_app.config["IMPORT_MAX_BYTES"], **kwargs)


@admin_bp.route("/imports", methods=["GET", "POST"], endpoint="imports")
@staff_required(*IMPORT_ROLES)
@allows_large_upload
def imports_home() -> Response | str:
    """Upload a feed: validated row by row, stored server-side, shown for confirmation."""
    db = get_db()
    form = _import_form(db)
    if form.validate_on_submit():
        results = imports.validate(db, form.rows, form.list_code.data, clock.today())
        batch_id = imports.store_batch(db, results, form.list_code.data, form.filename,
                                       current_user.audit_name, clock.iso_now())
        return redirect(url_for(".import_batch", batch_id=batch_id), code=303)
    return render_template("transparency/imports.html", form=form,
                           batches=imports.recent_batches(db))


def _batch_page(batch: dict, rows: list, form: forms.ConfirmImportForm) -> str:
    return render_template(
        "transparency/import_batch.html",
        batch=batch,
        accepted=[r for r in rows if r.ok],
        rejected=[r for r in rows if not r.ok],
        reasons=forms.REASONS,
        form=form,
    )


@admin_bp.get("/imports/<batch_id>")
@staff_required(*IMPORT_ROLES)
def import_batch(batch_id: str) -> str:
    db = get_db()
    batch = imports.get_batch(db, batch_id)
    if batch is None:
        abort(404)
    rows = imports.batch_rows(db, batch_id)
    return _batch_page(batch, rows, forms.ConfirmImportForm(
        formdata=None, rejected=sum(1 for r in rows if not r.ok)))


@admin_bp.post("/imports/<batch_id>/confirm")
@staff_required(*IMPORT_ROLES)
def import_confirm(batch_id: str) -> Response | str:
    db = get_db()
    batch = imports.get_batch(db, batch_id)
    if batch is None:
        abort(404)
    if batch["status"] != "validated":
        return redirect(url_for(".import_batch", batch_id=batch_id), code=303)
    rows = imports.batch_rows(db, batch_id)
    form = forms.ConfirmImportForm(rejected=sum(1 for r in rows if not r.ok))
    if not form.validate():
        return _batch_page(batch, rows, form)
    imports.apply_import(db, rows, batch["list_code"], batch_id, current_user.audit_name,
                         clock.iso_now(), allow_partial=bool(form.partial.data))
    return redirect(url_for(".import_batch", batch_id=batch_id), code=303)


# ---------------------------------------------------------------- audit viewer


@admin_bp.get("/audit")
@staff_required(*AUDIT_ROLES)
def audit_log() -> str:
    db = get_db()
    filters = forms.AuditFilters(formdata=request.args, actions=data.audit_actions(db))
    filters.validate()
    rows, next_before = data.audit_page(db, **filters.query(), before=_before_arg())
    context = {"rows": rows, "next_before": next_before, "filters": filters,
               "next_args": filters.args()}
    if is_partial_request():
        return render_template("transparency/_audit_rows.html", **context)
    return render_template("transparency/audit.html", form=filters,
                           anchor=audit.anchor_status(db), **context)


@admin_bp.get("/audit/verify")
@staff_required(*AUDIT_ROLES)
def audit_verify() -> str:
    """Check the whole chain on demand (its cost grows with the log, so the audit log
    page itself never does this)."""
    return render_template("transparency/audit_verify.html", chain=audit.verify(get_db()))


# ---------------------------------------------------------------- CLI


@click.command("import-list")
@with_appcontext
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_code", required=True, help="Code of the list the feed belongs to.")
@click.option("--partial", is_flag=True, help="Import the valid rows even when some are rejected.")
def import_list_command(csv_file: Path, list_code: str, partial: bool) -> None:
    """Validate a department's list feed and import it (all rows valid, or --partial)."""
    import time

    started = time.perf_counter()
    with engine_for(current_app).connect() as db:
        if list_code not in imports.known_lists(db):
            raise click.ClickException(f"unknown list code {list_code!r}")
        try:
            rows = imports.read_csv(csv_file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise click.ClickException("not a UTF-8 text file") from None
        except imports.ImportFileError as problem:
            raise click.ClickException(f"not a list feed: {problem.code} {problem.detail}") from None
        results = imports.validate(db, rows, list_code, clock.today())
        rejected = [r for r in results if not r.ok]
        for result in rejected[:50]:
            click.echo(f"row {result.row_no}: rejected: {', '.join(result.errors)}", err=True)
        if len(rejected) > 50:
            click.echo(f"... and {len(rejected) - 50} more rejected rows", err=True)
        batch_id = imports.store_batch(
            db, results, list_code, csv_file.name, "system:cli", clock.iso_now(), keep_rows=False
        )
        if rejected and not partial:
            raise click.ClickException(
                f"{len(rejected)} of {len(results)} rows rejected; nothing imported "
                "(use --partial to import the valid rows)"
            )
        outcome = imports.apply_import(
            db, results, list_code, batch_id, "system:cli", clock.iso_now(), allow_partial=partial
        )
        assert outcome is not None  # the batch was stored just now: nobody else confirms it
    click.echo(
        f"batch {batch_id}: {outcome.inserted} created, {outcome.updated} updated, "
        f"{outcome.unchanged} unchanged, {outcome.skipped} rejected "
        f"in {time.perf_counter() - started:.1f} s"
    )


def init_app(app: Flask) -> None:
    """Register this capability's blueprints, CLI commands and template helpers."""
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.cli.add_command(import_list_command)
    # The published anchors are the same for everyone: no session is read or written.
    serve_without_session(app, "/audit/")

    app.jinja_env.globals.update(
        transparency_action_label=action_label,
        transparency_who_label=who_label,
        import_batch_statuses=forms.BATCH_STATUSES,
        import_row_statuses=forms.ROW_STATUSES,
    )
