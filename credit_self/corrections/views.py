"""Routes of the corrections capability (thin: validation and data work live beside them).

Residents: file an objection or a credit-repair application from an entry (form, check
your answers, confirmation), follow it on /corrections, withdraw or add information, and
read the inbox. Reviewers: the queue at /admin/corrections, forward, decide.
"""
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from .. import audit, clock, navigation
from ..admin import tools
from ..auth.roles import refuse_read, resident_required, staff_required
from ..db import get_db
from ..htmx import is_partial_request
from ..i18n import gettext as _
from ..i18n import N_
from ..i18n import lazy_gettext as _l
from ..records import entries as records_entries
from ..records import rules
from ..records.views import own_entries, own_entry
from ..request_globals import once_per_request, signed_in_user
from . import data, forms

bp = Blueprint("corrections", __name__)
admin_bp = Blueprint("corrections_admin", __name__, url_prefix="/admin/corrections")

navigation.register("corrections.index", N_("Corrections"), order=20)
navigation.register("corrections.inbox", N_("Inbox"), order=40)
tools.register(
    "corrections_admin.queue",
    _l("Corrections queue"),
    _l("Review residents' objections and credit-repair applications before their deadlines."),
    roles=("reviewer", "superadmin"),
)


def _see_other(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), code=303)


def _own_correction(correction_id: int) -> dict:
    db = get_db()
    correction = data.correction_for(db, current_user.id_number, correction_id)
    if correction is None:
        refuse_read("correction_read_refused", data.correction_owner(db, correction_id),
                    {"correction_id": correction_id})
    correction["overdue"] = data.is_overdue(correction, clock.today())
    return correction


def _kind() -> str:
    return data.RESTORATION if request.args.get("kind") == data.RESTORATION else data.OBJECTION


def _check_can_file(entry: dict, kind: str) -> None:
    """Refuse filing when the entry cannot take one: an open correction sends the
    resident to follow it; an entry that allows no objection or repair is a 404."""
    db = get_db()
    if data.open_for_entry(db, entry["id"]) is not None:
        flash(_l("This entry already has an open correction. Follow it on your corrections page."), "warning")
        abort(_see_other("corrections.index"))
    if kind == data.RESTORATION and not data.can_restore(entry, clock.today()):
        abort(404)
    if kind == data.OBJECTION and not data.can_object(entry):
        abort(404)


def _not_me_statement(entry: dict) -> str:
    """Pre-filled "not me" statement naming where the recorded identifiers differ."""
    resident = records_entries.register_record(get_db(), current_user.id_number)
    labels = {"name": _("name"), "sex": _("sex"), "birth_year": _("year of birth"),
              "region_code": _("region code")}
    lines = [
        _("%(field)s: recorded %(recorded)s, but mine is %(register)s",
          field=labels[d["field"]], recorded=d["recorded"], register=d["register"])
        for d in rules.identifier_differences(entry, resident)
    ]
    return "\n".join([_("This entry is not about me. The department recorded another person's details:"), *lines])


# ---------------------------------------------------------------- filing
@bp.route("/me/entries/<int:entry_id>/correction", methods=["GET", "POST"])
@resident_required
def new(entry_id: int) -> Response | str:
    """Step 1: reason, statement, evidence (or, for repair, statement + commitment)."""
    entry = own_entry(entry_id)
    kind = _kind()
    _check_can_file(entry, kind)
    errors: dict = {}
    db = get_db()
    draft = data.load_draft(db, current_user.id_number, entry_id, kind)
    if request.method == "POST":
        answers, errors = forms.validate_filing(request.form, kind)
        if not errors:
            data.save_draft(db, current_user.id_number, entry_id, kind, answers, clock.now())
            return _see_other("corrections.check", entry_id=entry_id, kind=kind)
    elif draft:
        answers = draft
    else:
        reason = request.args.get("reason", "")
        answers = {"category": reason if reason in data.CATEGORIES else "",
                   "statement": "", "evidence": "", "commitment": False}
        if answers["category"] == "not_me":
            answers["statement"] = _not_me_statement(entry)
    return render_template(
        "corrections/new.html", entry=entry, kind=kind, answers=answers, errors=errors,
        limits={"min": forms.STATEMENT_MIN, "max": forms.STATEMENT_MAX},
    )


@bp.route("/me/entries/<int:entry_id>/correction/check", methods=["GET", "POST"])
@resident_required
def check(entry_id: int) -> Response | str:
    """Step 2: check your answers, then send."""
    entry = own_entry(entry_id)
    kind = _kind()
    draft = data.load_draft(get_db(), current_user.id_number, entry_id, kind)
    if draft is None:
        return _see_other("corrections.new", entry_id=entry_id, kind=kind)
    _check_can_file(entry, kind)
    if request.method == "POST":
        db = get_db()
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
    due = data.add_working_days(clock.today(), days, data.calendar(get_db()))
    return render_template("corrections/check.html", entry=entry, kind=kind, answers=draft, due=due)


@bp.get("/corrections/<int:correction_id>/confirmation")
@resident_required
def confirmation(correction_id: int) -> str:
    return render_template("corrections/confirmation.html", correction=_own_correction(correction_id))


# ---------------------------------------------------------------- following
@bp.get("/corrections")
@resident_required
def index() -> str:
    today = clock.today()
    items = data.corrections_for(get_db(), current_user.id_number)
    for item in items:
        item["overdue"] = data.is_overdue(item, today)
    return render_template("corrections/index.html", corrections=items)


@bp.get("/corrections/<int:correction_id>")
@resident_required
def detail(correction_id: int) -> str:
    return render_template("corrections/detail.html", correction=_own_correction(correction_id),
                           errors={}, information="")


def _detail_partial(correction_id: int, notice: str | None = None, errors: dict | None = None,
                    information: str = "") -> str:
    """The swappable part of the correction page, for htmx requests."""
    return render_template("corrections/_detail.html", correction=_own_correction(correction_id),
                           partial=True, notice=notice, errors=errors or {}, information=information)


def _after_change(correction_id: int, message, category: str) -> Response | str:
    """htmx: the refreshed detail with the message inside; otherwise PRG with a flash."""
    if is_partial_request():
        return _detail_partial(correction_id, notice=message)
    flash(message, category)
    return _see_other("corrections.detail", correction_id=correction_id)


@bp.post("/corrections/<int:correction_id>/withdraw")
@resident_required
def withdraw(correction_id: int) -> Response | str:
    _own_correction(correction_id)
    try:
        data.withdraw(get_db(), current_user.id_number, correction_id, clock.now(),
                      current_user.audit_name)
        message, category = _l("You withdrew your correction. The entry is no longer marked as under dispute."), "success"
    except data.AlreadyDecided:
        message, category = _l("This correction is already closed."), "warning"
    return _after_change(correction_id, message, category)


@bp.post("/corrections/<int:correction_id>/information")
@resident_required
def add_information(correction_id: int) -> Response | str:
    correction = _own_correction(correction_id)
    text, errors = forms.validate_information(request.form)
    if errors:
        # htmx 2 swaps only 2xx answers: errors come back as a 200 partial.
        if is_partial_request():
            return _detail_partial(correction_id, errors=errors, information=text)
        return render_template("corrections/detail.html", correction=correction, errors=errors,
                               information=text)
    try:
        data.add_information(get_db(), current_user.id_number, correction_id, text, clock.now(),
                             current_user.audit_name)
        message, category = _l("Your information was added to the correction."), "success"
    except data.AlreadyDecided:
        message, category = _l("This correction is already closed."), "warning"
    return _after_change(correction_id, message, category)


@bp.get("/inbox")
@resident_required
def inbox() -> str:
    """Messages newest first; opening the inbox marks them read (shown as "New" once)."""
    db = get_db()
    messages = data.inbox(db, current_user.id_number)
    if any(m["read_at"] is None for m in messages):  # no write lock when nothing is new
        data.mark_all_read(db, current_user.id_number, clock.now())
    return render_template("corrections/inbox.html", messages=messages)


# ---------------------------------------------------------------- reviewers
@admin_bp.get("")
@staff_required("reviewer", "superadmin")
def queue() -> str:
    status = request.args.get("status", "open")
    if status not in ("open", "all", *data.STATUSES):
        status = "open"
    list_code = request.args.get("list", "")
    db = get_db()
    codes = data.list_codes(db)
    if list_code not in {c["code"] for c in codes}:
        list_code = ""
    return render_template(
        "corrections/admin_queue.html",
        cases=data.queue(db, clock.today(), status, list_code),
        status=status, list_code=list_code, lists=codes, statuses=data.STATUSES,
    )


def _case(correction_id: int) -> dict:
    db = get_db()
    found = data.case(db, correction_id)
    if found is None:
        abort(404)
    found["correction"]["overdue"] = data.is_overdue(found["correction"], clock.today())
    today = clock.today()
    for e in [found["entry"], *found["others"]]:
        e["state"] = rules.entry_state(e, today)
    found["differences"] = rules.identifier_differences(found["entry"], found["resident"])
    return found


@admin_bp.get("/<int:correction_id>")
@staff_required("reviewer", "superadmin")
def case(correction_id: int) -> str:
    db = get_db()
    found = _case(correction_id)
    # Opening a case is a read of that resident's record.
    audit.record(db, current_user.audit_name, "correction_case_read",
                 found["correction"]["id_number"], {"correction_id": correction_id})
    if data.start_review(db, correction_id, clock.now(), current_user.audit_name):
        found = _case(correction_id)
    return render_template("corrections/admin_case.html", errors={}, answers={}, **found)


@admin_bp.post("/<int:correction_id>/forward")
@staff_required("reviewer", "superadmin")
def forward(correction_id: int) -> Response:
    _case(correction_id)
    try:
        data.forward(get_db(), correction_id, forms._clean(request.form.get("agency_note")),
                     clock.now(), clock.today(), current_user.audit_name)
        flash(_l("Forwarded to the source agency. The decision is now due 5 working days from today."), "success")
    except data.AlreadyDecided:
        flash(_l("This case can no longer be forwarded."), "warning")
    return _see_other("corrections_admin.case", correction_id=correction_id)


@admin_bp.post("/<int:correction_id>/answer")
@staff_required("reviewer", "superadmin")
def agency_answer(correction_id: int) -> Response | str:
    found = _case(correction_id)
    text, errors = forms.validate_answer(request.form)
    if errors:
        return render_template("corrections/admin_case.html", errors=errors, answers={}, **found)
    try:
        data.record_agency_answer(get_db(), correction_id, text, clock.now(), current_user.audit_name)
        flash(_l("The agency's answer was recorded."), "success")
    except data.AlreadyDecided:
        flash(_l("This case is not waiting for the agency."), "warning")
    return _see_other("corrections_admin.case", correction_id=correction_id)


@admin_bp.post("/<int:correction_id>/decide")
@staff_required("reviewer", "superadmin")
def decide(correction_id: int) -> Response | str:
    found = _case(correction_id)
    answers, errors = forms.validate_decision(request.form, found["entry"])
    if errors:
        return render_template("corrections/admin_case.html", errors=errors, answers=answers, **found)
    try:
        data.decide(get_db(), correction_id, answers["outcome"], answers["note"],
                    answers["action"] if answers["outcome"] == "uphold" else None,
                    answers["facts"], answers["expiry"], clock.now(), current_user.audit_name)
        flash(_l("Decision recorded. The resident has been told."), "success")
    except data.AlreadyDecided:
        flash(_l("This case was already decided by someone else. Nothing was changed."), "warning")
    return _see_other("corrections_admin.case", correction_id=correction_id)


# ---------------------------------------------------------------- wiring
def _under_dispute() -> dict[int, dict]:
    """Open corrections of the signed-in resident by entry id (one query per request)."""
    def read() -> dict[int, dict]:
        user = signed_in_user()
        if user.is_authenticated and user.is_resident:
            return data.open_by_entry(get_db(), user.id_number)
        return {}

    return once_per_request("open_corrections", read)


_NO_TAG = Markup("")


def dispute_tag(entry: dict) -> Markup:
    """The "Under dispute" tag for an entry with an open correction (a function, not an
    include: /me calls it once per entry)."""
    if entry["id"] not in _under_dispute():
        return _NO_TAG
    return Markup('<strong class="tag tag--yellow">{}</strong>').format(_("Under dispute"))


def inbox_badge() -> Markup:
    """The unread count beside the Inbox link in the navigation ("" when none)."""
    unread = (
        data.unread_count(get_db(), user.id_number)
        if (user := signed_in_user()).is_authenticated and user.is_resident else 0
    )
    if not unread:
        return _NO_TAG
    return Markup(' <span class="badge">{}<span class="visually-hidden"> {}</span></span>').format(
        unread, _("unread")
    )


def correction_possible(entry: dict) -> dict[str, bool]:
    return {"object": data.can_object(entry), "restore": data.can_restore(entry, clock.today())}


def init_app(app: Flask) -> None:
    """Register this capability's blueprints, CLI commands and template helpers."""
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)

    @app.before_request
    def expiry_notices() -> None:
        # Lazily add "ends within 14 days" inbox messages when the resident looks.
        if request.endpoint not in ("records.my_record", "corrections.inbox"):
            return
        user = signed_in_user()
        if user.is_authenticated and user.is_resident:
            data.note_expiring_entries(get_db(), user.id_number, own_entries(),
                                       clock.now(), clock.today())

    # Template globals rather than a context processor: nothing is computed for a page
    # that does not use them, and macros imported without the page's context see them.
    app.jinja_env.globals.update(
        dispute_tag=dispute_tag,
        inbox_badge=inbox_badge,
        open_corrections=_under_dispute,
        correction_possible=correction_possible,
    )
