"""Routes of the corrections capability (thin: validation and data work live beside them).

Residents: file an objection or a credit-repair application from an entry (form, check
your answers, confirmation), follow it on /corrections, withdraw or add information, and
read the inbox. Reviewers: the queue at /admin/corrections, forward, decide.
"""
from typing import Any

from flask import (Blueprint, Flask, abort, current_app, flash, g, redirect, render_template,
                   request, send_file, url_for)
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import audit, clock, registry, signals
from ..i18n import N_
from ..auth.roles import refuse_read, resident_required, staff_required
from ..db import get_db
from ..formatters import localized
from ..htmx import is_partial_request
from ..records import entries as records_entries
from ..records import labels as record_labels
from ..records import rules
from ..security import allows_evidence_upload
from . import data, evidence, forms

bp = Blueprint("corrections", __name__)
admin_bp = Blueprint("corrections_admin", __name__, url_prefix="/admin/corrections")
REVIEWER_ROLES = ("reviewer", "superadmin")


def _unread() -> int:
    return data.unread_count(get_db(), current_user.id_number)


registry.add_resident_page("corrections.index", N_("Corrections"), order=20)
registry.add_resident_page("corrections.inbox", N_("Inbox"), order=40, badge=_unread,
                           badge_words=N_("unread"))
registry.add_admin_tool(
    "corrections_admin.queue", N_("Corrections queue"),
    N_("Review residents' objections and credit-repair applications before their deadlines."),
    roles=REVIEWER_ROLES,
)


def _see_other(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), code=303)


def _open_corrections() -> dict[int, dict]:
    """Open corrections of the signed-in resident by entry id, read once per request."""
    if "open_corrections" not in g:
        g.open_corrections = (data.open_by_entry(get_db(), current_user.id_number)
                              if current_user.is_authenticated and current_user.is_resident else {})
    return g.open_corrections


def _dispute_tags(entry: dict) -> list:
    return [forms.UNDER_DISPUTE] if entry["id"] in _open_corrections() else []


registry.add_entry_tags(_dispute_tags)


def _decision(correction_id: int) -> dict | None:
    """The signed-in resident's upheld correction that changed an entry, for its card."""
    if not (current_user.is_authenticated and current_user.is_resident):
        return None
    found = data.decision_for(get_db(), current_user.id_number, correction_id)
    if found is None:
        return None
    return {"reference": found["reference"], "note": found["decision_note"],
            "url": url_for("corrections.detail", correction_id=correction_id)}


registry.add_decision_describer(_decision)
registry.add_entry_panel("corrections/_entry_actions.html")


def _own_correction(correction_id: int) -> dict:
    correction = data.correction_for(get_db(), current_user.id_number, correction_id)
    if correction is None:
        refuse_read("correction_read_refused", {"correction_id": correction_id})
    correction["overdue"] = data.is_overdue(correction, clock.today())
    return correction


def _own_entry(entry_id: int) -> dict:
    """The signed-in resident's entry, with its state; 404 (a refused read) otherwise."""
    entry = records_entries.entry_for(get_db(), current_user.id_number, entry_id)
    if entry is None:
        refuse_read("entry_read_refused", {"entry_id": entry_id})
    entry["state"] = rules.entry_state(entry, clock.today())
    return entry


def _kind() -> str:
    return data.RESTORATION if request.args.get("kind") == data.RESTORATION else data.OBJECTION


def _check_can_file(entry: dict, kind: str) -> None:
    """Refuse filing when the entry cannot take one: an open correction sends the
    resident to follow it; an entry that allows no objection or repair is a 404."""
    if data.open_for_entry(get_db(), entry["id"]) is not None:
        flash(_l("This entry already has an open correction. Follow it on your corrections page."),
              "warning")
        abort(_see_other("corrections.index"))
    if kind == data.RESTORATION and not data.can_restore(entry, clock.today()):
        abort(404)
    if kind == data.OBJECTION and not data.can_object(entry):
        abort(404)


def _not_me_statement(entry: dict) -> str:
    """Pre-filled "not me" statement naming where the recorded identifiers differ."""
    from flask_babel import gettext as _

    resident = records_entries.register_record(get_db(), current_user.id_number)
    labels = {"name": _("name"), "sex": _("sex"), "birth_year": _("year of birth"),
              "region_code": _("home district")}
    lines = [
        _("%(field)s: recorded %(recorded)s, but mine is %(register)s",
          field=labels[d["field"]],
          recorded=record_labels.identifier_words(d["field"], d["recorded"]),
          register=record_labels.identifier_words(d["field"], d["register"]))
        for d in rules.identifier_differences(entry, resident)
    ]
    return "\n".join([_("This entry is not about me. The department recorded another "
                        "person's details:"), *lines])


# ---------------------------------------------------------------- filing
def _evidence_dir() -> str:
    return current_app.config["EVIDENCE_DIR"]


def _too_many_files(form, error: data.TooManyFiles) -> None:
    """Files sent at the same moment by another tab took the places left."""
    form.add_error("files", ngettext(
        "This correction already has %(num)d file. It can have 5 in all",
        "This correction already has %(num)d files. It can have 5 in all", error.existing))


def _status(form) -> int:
    """A refused file is a 400 (other answers are re-asked on an ordinary 200 page)."""
    return 400 if "files" in form and form.files.errors else 200


@bp.route("/me/entries/<id:entry_id>/correction", methods=["GET", "POST"])
@resident_required
@allows_evidence_upload
def new(entry_id: int) -> Response | tuple[str, int]:
    """Step 1: reason, statement, evidence (or, for repair, statement + commitment)."""
    entry = _own_entry(entry_id)
    kind = _kind()
    _check_can_file(entry, kind)
    db = get_db()
    pending = data.pending_evidence(db, current_user.id_number, entry_id)
    form = forms.FilingForm(kind=kind, existing_files=len(pending))
    if form.validate_on_submit():
        try:
            data.save_draft(db, current_user.id_number, entry_id, kind, form.answers(),
                            clock.now(), form.files.uploads, _evidence_dir(),
                            current_user.audit_name)
            return _see_other("corrections.check", entry_id=entry_id, kind=kind)
        except data.TooManyFiles as error:
            _too_many_files(form, error)
    if request.method == "GET":
        draft = data.load_draft(db, current_user.id_number, entry_id, kind)
        if draft:
            form.process(data=draft)
        elif request.args.get("reason") in forms.CATEGORIES and "category" in form:
            form.category.data = request.args["reason"]
            if form.category.data == "not_me":
                form.statement.data = _not_me_statement(entry)
    return render_template("corrections/new.html", entry=entry, kind=kind, form=form,
                           pending=pending, accept=evidence.ACCEPT_ATTRIBUTE,
                           limits={"min": forms.STATEMENT_MIN, "max": forms.STATEMENT_MAX}
                           ), _status(form)


@bp.route("/me/entries/<id:entry_id>/correction/check", methods=["GET", "POST"])
@resident_required
def check(entry_id: int) -> Response | str:
    """Step 2: check your answers, then send."""
    entry = _own_entry(entry_id)
    kind = _kind()
    db = get_db()
    draft = data.load_draft(db, current_user.id_number, entry_id, kind)
    if draft is None:
        return _see_other("corrections.new", entry_id=entry_id, kind=kind)
    _check_can_file(entry, kind)
    if request.method == "POST":
        try:
            filed = data.file_correction(
                db, current_user.id_number, entry_id, kind, draft["category"] or None,
                draft["statement"], draft["evidence"], draft["commitment"],
                clock.now(), clock.today(), current_user.audit_name,
            )
        except data.CorrectionError:
            abort(409)
        return _see_other("corrections.confirmation", correction_id=filed["id"])
    days = data.RESTORATION_DAYS if kind == data.RESTORATION else data.DECISION_DAYS
    due = data.add_working_days(clock.today(), days, data.calendar(db))
    return render_template("corrections/check.html", entry=entry, kind=kind, answers=draft, due=due,
                           pending=data.pending_evidence(db, current_user.id_number, entry_id))


@bp.post("/me/entries/<id:entry_id>/correction/evidence/<id:evidence_id>/remove")
@resident_required
def remove_evidence(entry_id: int, evidence_id: int) -> Response:
    """Take a file off the draft on "Check your answers", before sending."""
    from flask_babel import gettext as _

    _own_entry(entry_id)
    removed = data.remove_pending_evidence(get_db(), _evidence_dir(), current_user.id_number,
                                           entry_id, evidence_id, current_user.audit_name)
    if removed is None:
        refuse_read("evidence_remove_refused", {"entry_id": entry_id, "evidence_id": evidence_id})
    flash(_("“%(name)s” was removed.", name=removed), "success")
    return _see_other("corrections.check", entry_id=entry_id, kind=_kind())


@bp.get("/corrections/<id:correction_id>/confirmation")
@resident_required
def confirmation(correction_id: int) -> str:
    return render_template("corrections/confirmation.html",
                           correction=_own_correction(correction_id))


# ---------------------------------------------------------------- following
@bp.get("/corrections")
@resident_required
def index() -> str:
    today = clock.today()
    items = data.corrections_for(get_db(), current_user.id_number)
    for item in items:
        item["overdue"] = data.is_overdue(item, today)
    return render_template("corrections/index.html", corrections=items)


def _detail(correction_id: int, form: forms.InformationForm | None = None,
            notice: str | None = None, partial: bool = False) -> str:
    template = "corrections/_detail.html" if partial else "corrections/detail.html"
    return render_template(template, correction=_own_correction(correction_id),
                           form=form or forms.InformationForm(formdata=None), notice=notice,
                           partial=partial, accept=evidence.ACCEPT_ATTRIBUTE)


@bp.get("/corrections/<id:correction_id>")
@resident_required
def detail(correction_id: int) -> str:
    return _detail(correction_id)


def _after_change(correction_id: int, message, category: str) -> Response | str:
    """htmx: the refreshed detail with the message inside; otherwise PRG with a flash."""
    if is_partial_request():
        return _detail(correction_id, notice=message, partial=True)
    flash(message, category)
    return _see_other("corrections.detail", correction_id=correction_id)


# One rule for both methods: with two, an id outside the converter's range would be a
# 405 (Werkzeug checks the method before the converter) instead of a 404.
@bp.route("/corrections/<id:correction_id>/withdraw", methods=["GET", "POST"])
@resident_required
def withdraw(correction_id: int) -> Response | str:
    """GET asks first, saying that "Under dispute" ends; its form POSTs here to withdraw."""
    correction = _own_correction(correction_id)
    if request.method == "GET":
        if correction["status"] not in data.OPEN_STATUSES:
            return _see_other("corrections.detail", correction_id=correction_id)
        return render_template("corrections/withdraw.html", correction=correction)
    try:
        data.withdraw(get_db(), current_user.id_number, correction_id, clock.now(),
                      current_user.audit_name)
        message, category = _l("You withdrew your correction. The entry is no longer marked "
                               "as under dispute."), "success"
    except data.AlreadyDecided:
        message, category = _l("This correction is already closed."), "warning"
    return _after_change(correction_id, message, category)


@bp.post("/corrections/<id:correction_id>/information")
@resident_required
@allows_evidence_upload
def add_information(correction_id: int) -> Response | str | tuple[str, int]:
    """Text, evidence files or both for an open correction."""
    correction = _own_correction(correction_id)
    form = forms.InformationForm(existing_files=len(correction["files"]))
    if form.validate():
        try:
            data.add_information(get_db(), current_user.id_number, correction_id,
                                 form.information.data, clock.now(), current_user.audit_name,
                                 form.files.uploads, _evidence_dir())
            message, category = _l("Your information was added to the correction."), "success"
            return _after_change(correction_id, message, category)
        except data.TooManyFiles as error:
            _too_many_files(form, error)
        except data.AlreadyDecided:
            return _after_change(correction_id, _l("This correction is already closed."),
                                 "warning")
    if is_partial_request():
        # htmx 2 swaps only 2xx answers: errors come back as a 200 partial.
        return _detail(correction_id, form=form, partial=True)
    return _detail(correction_id, form=form), _status(form)


def _evidence_download(found: dict | None) -> Response:
    """The file as an attachment with its checked type: never shown inside the site."""
    if found is None:
        abort(404)
    stored = evidence.path(_evidence_dir(), found["file_id"])
    if not stored.is_file():
        current_app.logger.error("evidence file %s is missing", found["file_id"])
        abort(404)
    response = send_file(stored, mimetype=found["content_type"], as_attachment=True,
                         download_name=found["filename"], conditional=False, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/corrections/<id:correction_id>/evidence/<id:evidence_id>")
@resident_required
def evidence_download(correction_id: int, evidence_id: int) -> Response:
    """One of the resident's own evidence files; anyone else's is a refused read."""
    found = data.evidence_file(get_db(), correction_id, evidence_id, current_user.id_number)
    if found is None:
        refuse_read("evidence_read_refused",
                    {"correction_id": correction_id, "evidence_id": evidence_id})
    return _evidence_download(found)


@bp.get("/inbox")
@resident_required
def inbox() -> str:
    """Messages newest first; opening the inbox marks them read (shown as "New" once)."""
    db = get_db()
    today = clock.today()
    found = records_entries.entries_for(db, current_user.id_number)
    data.note_expiring_entries(db, current_user.id_number, found, clock.now(), today)
    entries_by_id = {entry["id"]: entry for entry in found}
    for entry in found:
        entry["state"] = rules.entry_state(entry, today)
    messages = data.inbox(db, current_user.id_number)
    for message in messages:
        message["entry"] = entries_by_id.get(message["entry_id"])
    shown_new = [m["id"] for m in messages if m["read_at"] is None]
    if shown_new:  # no write when nothing is new
        data.mark_read(db, current_user.id_number, shown_new, clock.now())
    return render_template("corrections/inbox.html", threads=data.threads(messages))


def _note_expiring_entries(_sender, conn, id_number: str, entries: list[dict], **_kw) -> None:
    """When a resident opens their record: an inbox message for entries ending soon."""
    data.note_expiring_entries(conn, id_number, entries, clock.now(), clock.today())


signals.record_viewed.connect(_note_expiring_entries)


def _notice_to_inbox(_sender, conn, id_number: str, kind: str, at: str, title: str, text: str,
                     values: dict | None = None, **_kw) -> None:
    """Another capability tells the resident something (a password reset): an inbox message."""
    data.add_notice(conn, id_number, at, kind, title, text, values or {})


signals.resident_notice.connect(_notice_to_inbox)


def _note_entry_change(_sender, conn, entry_id: int, id_number: str, change: str, fields: dict,
                       at: str, correction_id: int | None = None, **_kw) -> None:
    """An entry was added or changed (a feed, a decision): tell its resident in the inbox."""
    data.note_entry_change(conn, entry_id, id_number, change, fields, at, correction_id,
                           clock.today())


signals.entry_changed.connect(_note_entry_change)


# ---------------------------------------------------------------- reviewers
@admin_bp.get("")
@staff_required(*REVIEWER_ROLES)
def queue() -> str:
    db = get_db()
    lists = data.list_codes(db)
    filters = forms.QueueFilters(
        formdata=request.args, lists=lists,
        list_names=[("", _l("All lists")), *((row["code"], localized(row, "name")) for row in lists)],
    )
    return render_template(
        "corrections/admin_queue.html",
        cases=data.queue(db, clock.today(), filters.status.data, filters.list.data),
        filters=filters,
    )


def _case(correction_id: int) -> dict:
    found = data.case(get_db(), correction_id)
    if found is None:
        abort(404)
    today = clock.today()
    found["correction"]["overdue"] = data.is_overdue(found["correction"], today)
    for e in [found["entry"], *found["others"]]:
        e["state"] = rules.entry_state(e, today)
    found["differences"] = rules.identifier_differences(found["entry"], found["resident"])
    return found


def _case_page(correction_id: int, **forms_given) -> str:
    found = _case(correction_id)
    page_forms = {
        "forward_form": forms.ForwardForm(formdata=None),
        "answer_form": forms.AnswerForm(formdata=None),
        "decision_form": forms.DecisionForm(formdata=None, correction=found["correction"],
                                            entry=found["entry"]),
        **forms_given,
    }
    # The form that failed is the one the error summary lists.
    failed = next((f for f in forms_given.values() if f.has_errors()), None)
    return render_template("corrections/admin_case.html", form=failed, **page_forms, **found)


@admin_bp.get("/<id:correction_id>")
@staff_required(*REVIEWER_ROLES)
def case(correction_id: int) -> str:
    db = get_db()
    found = _case(correction_id)
    # Opening a case is a read of that resident's record.
    audit.record(db, current_user.audit_name, "correction_case_read",
                 found["correction"]["id_number"], {"correction_id": correction_id})
    return _case_page(correction_id)


@admin_bp.get("/<id:correction_id>/evidence/<id:evidence_id>")
@staff_required(*REVIEWER_ROLES)
def evidence_file(correction_id: int, evidence_id: int) -> Response:
    """A reviewer downloads a file of the case: a read of the resident's record."""
    db = get_db()
    found = data.evidence_file(db, correction_id, evidence_id)
    if found is not None:
        audit.record(db, current_user.audit_name, "correction_evidence_read", found["id_number"],
                     {"correction_id": correction_id, "evidence_id": evidence_id})
    return _evidence_download(found)


@admin_bp.post("/<id:correction_id>/start")
@staff_required(*REVIEWER_ROLES)
def start_review(correction_id: int) -> Response:
    """Move a submitted case to in review; the resident is told."""
    # A POST, never the case page's GET: a link from another site could open that.
    _case(correction_id)
    if data.start_review(get_db(), correction_id, clock.now(), current_user.audit_name):
        flash(_l("Review started. The resident has been told."), "success")
    else:
        flash(_l("This case is no longer waiting for review."), "warning")
    return _see_other("corrections_admin.case", correction_id=correction_id)


@admin_bp.post("/<id:correction_id>/forward")
@staff_required(*REVIEWER_ROLES)
def forward(correction_id: int) -> Response | str:
    _case(correction_id)
    form = forms.ForwardForm()
    if not form.validate():
        return _case_page(correction_id, forward_form=form)
    try:
        data.forward(get_db(), correction_id, form.agency_note.data, clock.now(), clock.today(),
                     current_user.audit_name)
        flash(_l("Forwarded to the source agency. The decision is now due 5 working days "
                 "from today."), "success")
    except data.AlreadyDecided:
        flash(_l("This case can no longer be forwarded."), "warning")
    return _see_other("corrections_admin.case", correction_id=correction_id)


@admin_bp.post("/<id:correction_id>/answer")
@staff_required(*REVIEWER_ROLES)
def agency_answer(correction_id: int) -> Response | str:
    _case(correction_id)
    form = forms.AnswerForm()
    if not form.validate():
        return _case_page(correction_id, answer_form=form)
    try:
        data.record_agency_answer(get_db(), correction_id, form.answer.data, clock.now(),
                                  current_user.audit_name)
        flash(_l("The agency's answer was recorded."), "success")
    except data.AlreadyDecided:
        flash(_l("This case is not waiting for the agency."), "warning")
    return _see_other("corrections_admin.case", correction_id=correction_id)


@admin_bp.post("/<id:correction_id>/decide")
@staff_required(*REVIEWER_ROLES)
def decide(correction_id: int) -> Response | str:
    found = _case(correction_id)
    form = forms.DecisionForm(correction=found["correction"], entry=found["entry"])
    if not form.validate():
        return _case_page(correction_id, decision_form=form)
    uphold = form.outcome.data == "uphold"
    try:
        data.decide(get_db(), correction_id, form.outcome.data, form.note.data,
                    form.action.data if uphold else None, form.facts.data,
                    form.expiry.data if uphold else None, clock.now(), current_user.audit_name)
        flash(_l("Decision recorded. The resident has been told."), "success")
    except data.AlreadyDecided:
        flash(_l("This case was already decided by someone else. Nothing was changed."), "warning")
    return _see_other("corrections_admin.case", correction_id=correction_id)


# ---------------------------------------------------------------- wiring
def correction_possible(entry: dict) -> dict[str, bool]:
    return {"object": data.can_object(entry), "restore": data.can_restore(entry, clock.today())}


def file_size(size: int) -> str:
    """A file's size in words: "340 KB", "2.4 MB"."""
    from flask_babel import format_decimal, gettext as _

    if size < 1024 * 1024:
        return _("%(size)s KB", size=format_decimal(max(1, round(size / 1024))))
    return _("%(size)s MB", size=format_decimal(round(size / (1024 * 1024), 1)))


def init_app(app: Flask) -> None:
    """Register this capability's blueprints and what its templates use."""
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.add_template_filter(file_size, "file_size")
    app.jinja_env.globals.update(
        open_corrections=_open_corrections,
        correction_possible=correction_possible,
        correction_statuses=forms.STATUSES,
        correction_overdue=forms.OVERDUE,
        message_new=forms.NEW_MESSAGE,
        correction_kinds=forms.KINDS,
        correction_categories=forms.CATEGORIES,
        correction_repair_reason=forms.REPAIR_REASON,
        correction_action_results=forms.ACTION_RESULTS,
        correction_events=forms.EVENTS,
        entry_change_fields=forms.CHANGED_FIELDS,
        evidence_type_words=forms.EVIDENCE_TYPES,
        evidence_hint=forms.EVIDENCE_HINT,
    )
