"""Demo data for the personas: the same-name mix-up (张伟) has an open objection."""
from datetime import date, datetime, time, timedelta, timezone

from sqlite_utils import Database

from . import data


def add_demo_data(db: Database, today: date) -> dict[str, int]:
    """Called by the seed inside the personas' transaction (unaudited, like the seed)."""
    from ..seeding import NAMESAKE, _persona

    id_number = _persona("mixup")["id_number"]
    row = db.execute(
        "SELECT id FROM entries WHERE id_number = ? AND list_code = 'judgment_defaulter'",
        [id_number],
    ).fetchone()
    if row is None:
        return {"corrections": 0}
    entry_id = row[0]
    filed_on = today - timedelta(days=1)
    at = datetime.combine(filed_on, time(2, 30), tzinfo=timezone.utc).isoformat(timespec="seconds")
    days = data.calendar(db)
    statement = (
        "This entry is not about me. The court recorded a woman born in 1982 in Minhang "
        f"({NAMESAKE['region_code']}); I am a man born in 1993 in Pudong and have never been "
        "a party to this case."
    )
    correction_id = db.table("corrections").insert({
        "reference": "pending", "id_number": id_number, "entry_id": entry_id,
        "kind": data.OBJECTION, "category": "not_me", "statement": statement,
        "evidence": "Resident ID card; household register extract of 3 March 2025",
        "commitment": 0, "status": "submitted", "filed_at": at,
        "due_by": data.add_working_days(filed_on, data.DECISION_DAYS, days).isoformat(),
        "forward_by": data.add_working_days(filed_on, data.FORWARD_WITHIN_DAYS, days).isoformat(),
        "updated_at": at,
    }).last_pk
    reference = data.reference_for(correction_id, at)
    db.execute("UPDATE corrections SET reference = ? WHERE id = ?", [reference, correction_id])
    db.table("correction_events").insert({
        "correction_id": correction_id, "at": at, "actor": f"resident:{id_number}",
        "event": "submitted", "note": None,
    })
    db.table("inbox_messages").insert({
        "id_number": id_number, "at": at, "kind": "correction_status",
        "correction_id": correction_id, "entry_id": entry_id,
        "params": f'{{"reference": "{reference}", "status": "submitted"}}',
    })
    return {"corrections": 1}
