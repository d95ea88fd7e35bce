"""Corrections data layer: working-day deadlines, filing, the review flow, the inbox.

No Flask here: every function takes the Database (and the time where it matters), so the
CLI, the seed and the tests use it directly. Every write runs in `write_transaction`.
"""
import json
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from .. import audit
from ..db import write_transaction
from ..records import entries as records_entries
from ..records import rules

OBJECTION = "objection"
RESTORATION = "restoration"
CATEGORIES = ("not_me", "wrong_facts", "fulfilled", "expired", "other")
OPEN_STATUSES = ("submitted", "in_review", "forwarded")
STATUSES = OPEN_STATUSES + ("upheld", "rejected", "withdrawn")
UPHOLD_ACTIONS = ("withdraw", "correct_facts", "earlier_expiry", "restore")

# Time limits in working days (SH 2017 Art. 36; SZ 2023 Art. 51 for repair).
DECISION_DAYS = 5
FORWARD_WITHIN_DAYS = 2
AGENCY_DECISION_DAYS = 5
RESTORATION_DAYS = 3
EXPIRY_NOTICE_DAYS = 14


class CorrectionError(Exception):
    """The action is not possible in the correction's current state."""


class AlreadyDecided(CorrectionError):
    """Another reviewer (or the resident) closed the case first."""


# ---------------------------------------------------------------- working days
def calendar(db: Database) -> dict[str, str]:
    """The official calendar: day (ISO) -> 'holiday' or 'workday'."""
    return {row["day"]: row["kind"] for row in db.query("SELECT day, kind FROM holidays")}


def is_working_day(day: date, days: dict[str, str]) -> bool:
    """Mon-Fri unless a public holiday; a weekend day made a working day counts."""
    kind = days.get(day.isoformat())
    if kind == "holiday":
        return False
    if kind == "workday":
        return True
    return day.weekday() < 5


def add_working_days(start: date, count: int, days: dict[str, str]) -> date:
    """The `count`-th working day after `start` (the day of filing is not counted)."""
    current = start
    added = 0
    while added < count:
        current += timedelta(days=1)
        if is_working_day(current, days):
            added += 1
    return current


# ---------------------------------------------------------------- reading
def reference_for(correction_id: int, filed_at: str) -> str:
    return f"C-{filed_at[:4]}-{correction_id:06d}"


def open_for_entry(db: Database, entry_id: int) -> dict | None:
    rows = list(db.query(
        f"SELECT * FROM corrections WHERE entry_id = ? AND status IN ({_open_marks()}) "
        "ORDER BY id DESC LIMIT 1",
        [entry_id, *OPEN_STATUSES],
    ))
    return rows[0] if rows else None


def _open_marks() -> str:
    return ",".join("?" for _ in OPEN_STATUSES)


def open_by_entry(db: Database, id_number: str) -> dict[int, dict]:
    """The resident's open corrections keyed by entry id (for the 'Under dispute' tag)."""
    return {
        row["entry_id"]: row
        for row in db.query(
            f"SELECT * FROM corrections WHERE id_number = ? AND status IN ({_open_marks()})",
            [id_number, *OPEN_STATUSES],
        )
    }


def corrections_for(db: Database, id_number: str) -> list[dict]:
    """Every correction the resident filed, newest first, with entry and timeline."""
    rows = list(db.query(
        """SELECT c.*, e.list_code, e.document_no, l.name_en AS list_name_en,
                  l.name_zh AS list_name_zh
           FROM corrections c JOIN entries e ON e.id = c.entry_id
           JOIN lists l ON l.code = e.list_code
           WHERE c.id_number = ? ORDER BY c.filed_at DESC, c.id DESC""",
        [id_number],
    ))
    return _attach_events(db, rows)


def _attach_events(db: Database, rows: list[dict]) -> list[dict]:
    ids = [row["id"] for row in rows]
    by_id: dict[int, list[dict]] = {i: [] for i in ids}
    if ids:
        marks = ",".join("?" for _ in ids)
        for event in db.query(
            f"SELECT * FROM correction_events WHERE correction_id IN ({marks}) ORDER BY id",
            ids,
        ):
            by_id[event["correction_id"]].append(event)
    for row in rows:
        row["events"] = by_id[row["id"]]
    return rows


def correction_for(db: Database, id_number: str, correction_id: int) -> dict | None:
    """One correction, only if this resident filed it."""
    rows = [c for c in corrections_for(db, id_number) if c["id"] == correction_id]
    return rows[0] if rows else None


def correction_owner(db: Database, correction_id: int) -> str | None:
    row = db.execute("SELECT id_number FROM corrections WHERE id = ?", [correction_id]).fetchone()
    return row[0] if row else None


def is_overdue(correction: dict, today: date) -> bool:
    return correction["status"] in OPEN_STATUSES and date.fromisoformat(correction["due_by"]) < today


# ---------------------------------------------------------------- filing
def can_object(entry: dict) -> bool:
    return entry["status"] == "listed"


def can_restore(entry: dict, today: date) -> bool:
    """Repair may be requested once the list's minimum period has passed."""
    earliest = rules.earliest_repair_date(entry)
    state = rules.entry_state(entry, today)
    return earliest is not None and earliest <= today and state == rules.ACTIVE


def file_correction(
    db: Database, id_number: str, entry_id: int, kind: str, category: str | None,
    statement: str, evidence: str, commitment: bool, now: datetime, today: date, actor: str,
) -> dict:
    """File an objection or repair application; the entry is under dispute at once."""
    with write_transaction(db):
        entry = records_entries.entry_for(db, id_number, entry_id)
        if entry is None:
            raise CorrectionError("entry not found")
        if open_for_entry(db, entry_id) is not None:
            raise CorrectionError("already open")
        if kind == RESTORATION and not can_restore(entry, today):
            raise CorrectionError("repair not yet possible")
        days = calendar(db)
        limit = RESTORATION_DAYS if kind == RESTORATION else DECISION_DAYS
        at = now.isoformat(timespec="seconds")
        row = {
            "reference": "pending",
            "id_number": id_number,
            "entry_id": entry_id,
            "kind": kind,
            "category": category if kind == OBJECTION else None,
            "statement": statement,
            "evidence": evidence or None,
            "commitment": 1 if commitment else 0,
            "status": "submitted",
            "filed_at": at,
            "due_by": add_working_days(today, limit, days).isoformat(),
            "forward_by": add_working_days(today, FORWARD_WITHIN_DAYS, days).isoformat(),
            "updated_at": at,
        }
        correction_id = db.table("corrections").insert(row).last_pk
        reference = reference_for(correction_id, at)
        db.execute("UPDATE corrections SET reference = ? WHERE id = ?", [reference, correction_id])
        db.execute("DELETE FROM correction_drafts WHERE id_number = ?", [id_number])
        _event(db, correction_id, at, actor, "submitted", None)
        _message(db, id_number, at, "correction_status", correction_id, entry_id,
                 {"reference": reference, "status": "submitted"})
        audit.record(db, actor, "correction_filed", id_number,
                     {"correction": reference, "entry_id": entry_id, "kind": kind})
    row.update(id=correction_id, reference=reference)
    return row


def _event(db: Database, correction_id: int, at: str, actor: str, event: str, note: str | None) -> None:
    db.table("correction_events").insert(
        {"correction_id": correction_id, "at": at, "actor": actor, "event": event, "note": note}
    )


def _message(db: Database, id_number: str, at: str, kind: str, correction_id: int | None,
             entry_id: int | None, params: dict, dedupe_key: str | None = None) -> None:
    db.execute(
        """INSERT OR IGNORE INTO inbox_messages
           (id_number, at, kind, correction_id, entry_id, params, dedupe_key)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [id_number, at, kind, correction_id, entry_id,
         json.dumps(params, ensure_ascii=False, sort_keys=True), dedupe_key],
    )


def save_draft(db: Database, id_number: str, entry_id: int, kind: str, answers: dict,
               now: datetime) -> None:
    """Keep the answers between the form and "check your answers" (one per resident)."""
    with write_transaction(db):
        db.table("correction_drafts").upsert({
            "id_number": id_number, "entry_id": entry_id, "kind": kind,
            "answers": json.dumps(answers, ensure_ascii=False),
            "saved_at": now.isoformat(timespec="seconds"),
        }, pk="id_number")


def load_draft(db: Database, id_number: str, entry_id: int, kind: str) -> dict | None:
    row = db.execute(
        "SELECT answers FROM correction_drafts WHERE id_number = ? AND entry_id = ? AND kind = ?",
        [id_number, entry_id, kind],
    ).fetchone()
    return json.loads(row[0]) if row else None


# ---------------------------------------------------------------- resident actions
def withdraw(db: Database, id_number: str, correction_id: int, now: datetime, actor: str) -> None:
    at = now.isoformat(timespec="seconds")
    with write_transaction(db):
        changed = db.execute(
            f"""UPDATE corrections SET status = 'withdrawn', updated_at = ?
                WHERE id = ? AND id_number = ? AND status IN ({_open_marks()})""",
            [at, correction_id, id_number, *OPEN_STATUSES],
        ).rowcount
        if changed != 1:
            raise AlreadyDecided("not open")
        _event(db, correction_id, at, actor, "withdrawn", None)
        audit.record(db, actor, "correction_withdrawn", id_number, {"correction_id": correction_id})


def add_information(db: Database, id_number: str, correction_id: int, text: str,
                    now: datetime, actor: str) -> None:
    at = now.isoformat(timespec="seconds")
    with write_transaction(db):
        row = db.execute(
            f"SELECT 1 FROM corrections WHERE id = ? AND id_number = ? AND status IN ({_open_marks()})",
            [correction_id, id_number, *OPEN_STATUSES],
        ).fetchone()
        if row is None:
            raise AlreadyDecided("not open")
        db.execute("UPDATE corrections SET updated_at = ? WHERE id = ?", [at, correction_id])
        _event(db, correction_id, at, actor, "info_added", text)
        audit.record(db, actor, "correction_info_added", id_number, {"correction_id": correction_id})


# ---------------------------------------------------------------- inbox
def inbox(db: Database, id_number: str) -> list[dict]:
    rows = list(db.query(
        """SELECT m.*, c.reference FROM inbox_messages m
           LEFT JOIN corrections c ON c.id = m.correction_id
           WHERE m.id_number = ? ORDER BY m.at DESC, m.id DESC""",
        [id_number],
    ))
    for row in rows:
        row["params"] = json.loads(row["params"])
    return rows


def unread_count(db: Database, id_number: str) -> int:
    return db.execute(
        "SELECT count(*) FROM inbox_messages WHERE id_number = ? AND read_at IS NULL", [id_number]
    ).fetchone()[0]


def mark_all_read(db: Database, id_number: str, now: datetime) -> None:
    with write_transaction(db):
        db.execute(
            "UPDATE inbox_messages SET read_at = ? WHERE id_number = ? AND read_at IS NULL",
            [now.isoformat(timespec="seconds"), id_number],
        )


def note_expiring_entries(db: Database, id_number: str, entries: list[dict], now: datetime,
                          today: date) -> int:
    """Add one inbox message per active entry (and expiry date) ending within 14 days.

    Generated lazily when the resident opens /me or /inbox, from `entries` (every entry
    about the resident, as `records.entries.entries_for` gives them, which /me reads
    anyway). Without an entry ending soon there is no query at all; otherwise one read
    skips those already noted (dedupe key per entry and expiry date, so a changed expiry
    date gives a new message) and only new ones are written.
    """
    first, last = today.isoformat(), (today + timedelta(days=EXPIRY_NOTICE_DAYS)).isoformat()
    soon = {
        f"expiring:{e['id']}:{e['expires_on']}": e
        for e in entries
        if e["status"] == "listed" and e["listed_on"] <= first
        and e["expires_on"] is not None and first < e["expires_on"] <= last
    }
    if not soon:
        return 0
    noted = {row[0] for row in db.execute(
        f"SELECT dedupe_key FROM inbox_messages WHERE dedupe_key IN ({','.join('?' for _ in soon)})",
        list(soon),
    ).fetchall()}
    new = {key: e for key, e in soon.items() if key not in noted}
    if not new:
        return 0
    at = now.isoformat(timespec="seconds")
    with write_transaction(db):
        for key, e in new.items():
            _message(db, id_number, at, "entry_expiring", None, e["id"],
                     {"expires_on": e["expires_on"], "list_en": e["list_name_en"],
                      "list_zh": e["list_name_zh"]},
                     dedupe_key=key)
    return len(new)


# ---------------------------------------------------------------- reviewers
def queue(db: Database, today: date, status: str = "open", list_code: str = "") -> list[dict]:
    """Cases sorted by due date, overdue ones first."""
    where, params = [], []
    if status == "open":
        where.append(f"c.status IN ({_open_marks()})")
        params += OPEN_STATUSES
    elif status in STATUSES:
        where.append("c.status = ?")
        params.append(status)
    if list_code:
        where.append("e.list_code = ?")
        params.append(list_code)
    sql = f"""SELECT c.*, e.list_code, e.document_no, l.name_en AS list_name_en,
                     l.name_zh AS list_name_zh, r.name AS resident_name
              FROM corrections c JOIN entries e ON e.id = c.entry_id
              JOIN lists l ON l.code = e.list_code
              JOIN residents r ON r.id_number = c.id_number
              {"WHERE " + " AND ".join(where) if where else ""}
              ORDER BY c.due_by, c.id"""
    rows = list(db.query(sql, params))
    for row in rows:
        row["overdue"] = is_overdue(row, today)
    return sorted(rows, key=lambda r: (not r["overdue"], r["due_by"], r["id"]))


def list_codes(db: Database) -> list[dict]:
    return list(db.query("SELECT code, name_en, name_zh FROM lists ORDER BY code"))


def case(db: Database, correction_id: int) -> dict | None:
    """Everything a reviewer needs: correction, timeline, entry, its history and the
    resident's other entries on the same list."""
    rows = list(db.query("SELECT * FROM corrections WHERE id = ?", [correction_id]))
    if not rows:
        return None
    correction = _attach_events(db, rows)[0]
    entry = records_entries.entry_for(db, correction["id_number"], correction["entry_id"])
    history = list(db.query(
        "SELECT * FROM entry_history WHERE entry_id = ? ORDER BY at, id", [correction["entry_id"]]
    ))
    others = [
        e for e in records_entries.entries_for(db, correction["id_number"])
        if e["list_code"] == entry["list_code"] and e["id"] != entry["id"]
    ]
    resident = records_entries.register_record(db, correction["id_number"])
    return {"correction": correction, "entry": entry, "history": history,
            "others": others, "resident": resident}


def start_review(db: Database, correction_id: int, now: datetime, actor: str) -> bool:
    """Move a submitted case to 'in review' (when a reviewer first opens it)."""
    at = now.isoformat(timespec="seconds")
    with write_transaction(db):
        changed = db.execute(
            "UPDATE corrections SET status = 'in_review', updated_at = ? WHERE id = ? AND status = 'submitted'",
            [at, correction_id],
        ).rowcount
        if changed:
            row = db.execute("SELECT id_number, entry_id, reference FROM corrections WHERE id = ?",
                             [correction_id]).fetchone()
            _event(db, correction_id, at, actor, "in_review", None)
            _message(db, row[0], at, "correction_status", correction_id, row[1],
                     {"reference": row[2], "status": "in_review"})
    return bool(changed)


def forward(db: Database, correction_id: int, agency_note: str, now: datetime, today: date,
            actor: str) -> str:
    """Forward to the source agency: it decides within 5 working days from today."""
    at = now.isoformat(timespec="seconds")
    with write_transaction(db):
        due = add_working_days(today, AGENCY_DECISION_DAYS, calendar(db)).isoformat()
        changed = db.execute(
            """UPDATE corrections SET status = 'forwarded', forwarded_at = ?, due_by = ?, updated_at = ?
               WHERE id = ? AND kind = 'objection' AND status IN ('submitted', 'in_review')""",
            [at, due, at, correction_id],
        ).rowcount
        if changed != 1:
            raise AlreadyDecided("cannot forward")
        row = db.execute("SELECT id_number, entry_id, reference FROM corrections WHERE id = ?",
                         [correction_id]).fetchone()
        _event(db, correction_id, at, actor, "forwarded", agency_note or None)
        _message(db, row[0], at, "correction_status", correction_id, row[1],
                 {"reference": row[2], "status": "forwarded", "due_by": due})
        audit.record(db, actor, "correction_forwarded", row[0],
                     {"correction_id": correction_id, "due_by": due})
    return due


def record_agency_answer(db: Database, correction_id: int, answer: str, now: datetime,
                         actor: str) -> None:
    at = now.isoformat(timespec="seconds")
    with write_transaction(db):
        changed = db.execute(
            "UPDATE corrections SET agency_answer = ?, updated_at = ? WHERE id = ? AND status = 'forwarded'",
            [answer, at, correction_id],
        ).rowcount
        if changed != 1:
            raise AlreadyDecided("not forwarded")
        owner = correction_owner(db, correction_id)
        _event(db, correction_id, at, actor, "agency_answer", answer)
        audit.record(db, actor, "correction_agency_answer", owner, {"correction_id": correction_id})


def decide(db: Database, correction_id: int, outcome: str, note: str, action: str | None,
           new_facts: str | None, new_expiry: date | None, now: datetime, actor: str) -> None:
    """Uphold (changing the entry through entry_history) or reject, exactly once.

    The conditional UPDATE is the lock: of two reviewers deciding at the same moment,
    the second finds no open row and gets AlreadyDecided, and nothing else is written.
    """
    at = now.isoformat(timespec="seconds")
    status = "upheld" if outcome == "uphold" else "rejected"
    with write_transaction(db):
        changed = db.execute(
            f"""UPDATE corrections SET status = ?, decided_at = ?, decided_by = ?,
                   decision_action = ?, decision_note = ?, updated_at = ?
                WHERE id = ? AND status IN ({_open_marks()})""",
            [status, at, actor, action if status == "upheld" else None, note, at,
             correction_id, *OPEN_STATUSES],
        ).rowcount
        if changed != 1:
            raise AlreadyDecided("already decided")
        row = dict(zip(("id_number", "entry_id", "reference"), db.execute(
            "SELECT id_number, entry_id, reference FROM corrections WHERE id = ?", [correction_id]
        ).fetchone()))
        _event(db, correction_id, at, actor, status, note)
        _message(db, row["id_number"], at, "correction_status", correction_id, row["entry_id"],
                 {"reference": row["reference"], "status": status})
        if status == "upheld":
            _apply_to_entry(db, row, action, new_facts, new_expiry, at, actor, correction_id)
        audit.record(db, actor, f"correction_{status}", row["id_number"],
                     {"correction_id": correction_id, "action": action})


def _apply_to_entry(db: Database, row: dict, action: str | None, new_facts: str | None,
                    new_expiry: date | None, at: str, actor: str, correction_id: int) -> None:
    entry = dict(zip(("status", "facts_en", "facts_zh", "expires_on"), db.execute(
        "SELECT status, facts_en, facts_zh, expires_on FROM entries WHERE id = ?", [row["entry_id"]]
    ).fetchone()))
    if action == "withdraw":
        changes = {"status": "withdrawn"}
    elif action == "restore":
        changes = {"status": "restored"}
    elif action == "correct_facts":
        changes = {"facts_en": new_facts, "facts_zh": new_facts}
    elif action == "earlier_expiry":
        changes = {"expires_on": new_expiry.isoformat()}
    else:
        raise CorrectionError(f"unknown action {action!r}")
    reason = f"Correction {row['reference']} upheld"
    for field, value in changes.items():
        if entry[field] == value:
            continue
        db.table("entry_history").insert({
            "entry_id": row["entry_id"], "at": at, "actor": actor, "field": field,
            "old_value": entry[field], "new_value": value, "reason": reason,
            "correction_id": correction_id,
        })
        # Field names come from the fixed `changes` keys above, never from input.
        db.execute(f"UPDATE entries SET {field} = ?, updated_at = ? WHERE id = ?",
                   [value, at, row["entry_id"]])
    _message(db, row["id_number"], at, "entry_changed", correction_id, row["entry_id"],
             {"reference": row["reference"], "action": action})
