"""My record: every list entry about the signed-in resident and what it means."""
from flask import Blueprint, Flask, current_app, render_template, request
from flask_login import current_user

from .. import clock, registry, signals
from ..i18n import N_
from ..auth.roles import refuse_read, resident_required
from ..db import get_db
from ..extensions import limiter
from ..htmx import is_partial_request
from . import entries, labels, rules

bp = Blueprint("records", __name__)
# Signed-in pages of one's own record need no per-address limit.
limiter.exempt(bp)
registry.add_resident_page("records.my_record", N_("Your record"), order=10)


@bp.get("/me")
@resident_required
def my_record() -> str:
    db = get_db()
    found = entries.entries_for(db, current_user.id_number)
    signals.record_viewed.send("records", conn=db, id_number=current_user.id_number,
                               entries=found)
    summary = rules.summarise(found, clock.today(), current_app.config["EXPIRY_WARNING_DAYS"])
    _attach_closing(db, summary.closed)
    return render_template(
        "records/my_record.html",
        summary=summary,
        resident=entries.register_record(db, current_user.id_number),
        today=clock.today(),
    )


def _attach_closing(db, closed: list[dict]) -> None:
    """Withdrawn and restored entries say when, why and by whose decision."""
    changes = entries.closing_changes(db, [entry["id"] for entry in closed])
    for entry in closed:
        entry["closing"] = changes.get(entry["id"])


def _own_entry(entry_id: int) -> dict:
    """The signed-in resident's entry with its state, or 404 (a refused read) otherwise."""
    db = get_db()
    entry = entries.entry_for(db, current_user.id_number, entry_id)
    if entry is None:
        refuse_read("entry_read_refused", {"entry_id": entry_id})
    entry["state"] = rules.entry_state(entry, clock.today())
    entry["earliest_repair"] = rules.earliest_repair_date(entry)
    if entry["state"] in (rules.WITHDRAWN, rules.RESTORED):
        _attach_closing(db, [entry])
    return entry


@bp.get("/me/entries/<id:entry_id>")
@resident_required
def entry_detail(entry_id: int) -> str:
    """Full details of one entry: a partial for htmx, a page otherwise.

    `?view=summary` asks for the collapsed card (htmx "Hide details").
    """
    entry = _own_entry(entry_id)
    resident = entries.register_record(get_db(), current_user.id_number)
    context = {
        "entry": entry,
        "differences": rules.identifier_differences(entry, resident),
        "today": clock.today(),
    }
    if is_partial_request():
        if request.args.get("view") == "summary":
            return render_template("records/_entry_summary.html", **context)
        return render_template("records/_entry_details.html", **context)
    return render_template("records/entry.html", **context)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(entry_kinds=labels.ENTRY_KINDS, entry_states=labels.ENTRY_STATES,
                                  history_fields=labels.HISTORY_FIELDS,
                                  entry_status_words=labels.ENTRY_STATUS_WORDS)
    app.add_template_filter(labels.expiry_text)
    app.add_template_filter(rules.takes_effect_on)
    app.add_template_filter(labels.identifier_words)
