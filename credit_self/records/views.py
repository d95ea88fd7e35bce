"""My record: every list entry about the signed-in resident and what it means."""
from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from .. import clock, limiter, navigation
from ..auth.roles import refuse_read, resident_required
from ..db import get_db
from ..htmx import is_partial_request
from ..request_globals import once_per_request, signed_in_user
from ..i18n import N_
from . import entries, labels, rules

bp = Blueprint("records", __name__)
bp.record_once(lambda state: labels.init_app(state.app))
# Signed-in pages of one's own record need no per-address limit; skipping the check
# keeps it off the hottest page.
limiter.exempt(bp)
navigation.register("records.my_record", N_("Your record"), order=10)


def own_entries() -> list[dict]:
    """Every entry about the signed-in resident, read once per request: /me shows them
    and the inbox's expiry notices (a hook before the page) look at them too."""
    return once_per_request(
        "own_entries", lambda: entries.entries_for(get_db(), signed_in_user().id_number))


@bp.get("/me")
@resident_required
def my_record() -> str:
    db = get_db()
    summary = rules.summarise(
        own_entries(),
        clock.today(),
        current_app.config["EXPIRY_WARNING_DAYS"],
    )
    return render_template(
        "records/my_record.html",
        summary=summary,
        resident=entries.register_record(db, signed_in_user().id_number),
        today=clock.today(),
    )


def own_entry(entry_id: int) -> dict:
    """The signed-in resident's entry with its state, or 404 (audited) otherwise."""
    db = get_db()
    entry = entries.entry_for(db, current_user.id_number, entry_id)
    if entry is None:
        refuse_read("entry_read_refused", entries.entry_owner(db, entry_id), {"entry_id": entry_id})
    entry["state"] = rules.entry_state(entry, clock.today())
    entry["earliest_repair"] = rules.earliest_repair_date(entry)
    return entry


@bp.get("/me/entries/<int:entry_id>")
@resident_required
def entry_detail(entry_id: int) -> str:
    """Full details of one entry: a partial for htmx, a page otherwise.

    `?view=summary` asks for the collapsed card (htmx "Hide details").
    """
    db = get_db()
    entry = own_entry(entry_id)
    today = clock.today()
    resident = entries.register_record(db, current_user.id_number)
    context = {
        "entry": entry,
        "differences": rules.identifier_differences(entry, resident),
        "today": today,
    }
    if is_partial_request():
        if request.args.get("view") == "summary":
            return render_template("records/_entry_summary.html", **context)
        return render_template("records/_entry_details.html", **context)
    return render_template("records/entry.html", **context)
