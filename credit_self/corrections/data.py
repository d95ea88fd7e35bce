"""Corrections data layer: working-day deadlines, filing, the review flow, the inbox.

No Flask here: every function takes the Connection (and the time where it matters), so
the CLI, the seed and the tests use it directly. Every write runs in `write_transaction`.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from .. import audit, signals
from . import evidence
from ..db import execute, first, insert, is_postgresql, rows, scalar, sql, write_transaction
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


class TooManyFiles(CorrectionError):
    """The files would take a correction past evidence.MAX_FILES."""

    def __init__(self, existing: int):
        super().__init__(f"{existing} files already")
        self.existing = existing


# ---------------------------------------------------------------- working days
def calendar(conn: Connection) -> dict[str, str]:
    """The official calendar: day (ISO) -> 'holiday' or 'workday'."""
    return {row["day"]: row["kind"] for row in rows(conn, "SELECT day, kind FROM holidays")}


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
def reference_for(correction_id: int, filed_on: date) -> str:
    """C-<year>-<number>, the year of the filing day in China (as the resident saw it)."""
    return f"C-{filed_on.year}-{correction_id:06d}"


_OPEN = sql("SELECT * FROM corrections WHERE entry_id = :entry_id AND status IN :open "
            "ORDER BY id DESC LIMIT 1", "open")


def open_for_entry(conn: Connection, entry_id: int) -> dict | None:
    return first(conn, _OPEN, entry_id=entry_id, open=list(OPEN_STATUSES))


def open_by_entry(conn: Connection, id_number: str) -> dict[int, dict]:
    """The resident's open corrections keyed by entry id (for the 'Under dispute' tag)."""
    found = rows(conn, sql("SELECT * FROM corrections WHERE id_number = :id_number "
                           "AND status IN :open", "open"),
                 id_number=id_number, open=list(OPEN_STATUSES))
    return {row["entry_id"]: row for row in found}


def corrections_for(conn: Connection, id_number: str) -> list[dict]:
    """Every correction the resident filed, newest first, with entry and timeline."""
    found = rows(
        conn,
        """SELECT c.*, e.list_code, e.document_no, l.name_en AS list_name_en,
                  l.name_zh AS list_name_zh
           FROM corrections c JOIN entries e ON e.id = c.entry_id
           JOIN lists l ON l.code = e.list_code
           WHERE c.id_number = :id_number ORDER BY c.filed_at DESC, c.id DESC""",
        id_number=id_number,
    )
    return _attach_events(conn, found)


def _attach_events(conn: Connection, found: list[dict]) -> list[dict]:
    """Each correction with its timeline and its evidence files."""
    by_id: dict[int, list[dict]] = {row["id"]: [] for row in found}
    files: dict[int, list[dict]] = {row["id"]: [] for row in found}
    if by_id:
        for event in rows(conn, sql("SELECT * FROM correction_events WHERE correction_id IN :ids "
                                    "ORDER BY id", "ids"), ids=list(by_id)):
            by_id[event["correction_id"]].append(event)
        for row in rows(conn, sql(f"SELECT {_EVIDENCE_COLUMNS} FROM correction_evidence "
                                  "WHERE correction_id IN :ids ORDER BY id", "ids"),
                        ids=list(files)):
            files[row["correction_id"]].append(row)
    for row in found:
        row["events"] = by_id[row["id"]]
        row["files"] = files[row["id"]]
    return found


# What pages show of a file (never its name on disk).
_EVIDENCE_COLUMNS = "id, correction_id, filename, content_type, size, uploaded_at"


def pending_evidence(conn: Connection, id_number: str, entry_id: int) -> list[dict]:
    """Files uploaded with the filing draft for this entry, not yet sent."""
    return rows(conn, f"SELECT {_EVIDENCE_COLUMNS} FROM correction_evidence "
                      "WHERE id_number = :id_number AND entry_id = :entry_id "
                      "AND correction_id IS NULL ORDER BY id",
                id_number=id_number, entry_id=entry_id)


def evidence_file(conn: Connection, correction_id: int, evidence_id: int,
                  id_number: str | None = None) -> dict | None:
    """One file of a correction (only the resident's own when id_number is given)."""
    found = first(conn, "SELECT ev.*, c.reference FROM correction_evidence ev "
                        "JOIN corrections c ON c.id = ev.correction_id "
                        "WHERE ev.id = :id AND ev.correction_id = :correction_id",
                  id=evidence_id, correction_id=correction_id)
    if found is None or (id_number is not None and found["id_number"] != id_number):
        return None
    return found


def _store_evidence(conn: Connection, directory: str, written: list[str], id_number: str,
                    entry_id: int, correction_id: int | None, uploads: list[evidence.Upload],
                    at: str, actor: str) -> None:
    """Inside the caller's transaction: write the files (their names go to `written`, for
    the caller to remove if the transaction fails), their rows and the audit record."""
    if correction_id is None:
        existing = scalar(conn, "SELECT count(*) FROM correction_evidence WHERE "
                                "id_number = :id_number AND entry_id = :entry_id "
                                "AND correction_id IS NULL",
                          id_number=id_number, entry_id=entry_id)
    else:
        existing = scalar(conn, "SELECT count(*) FROM correction_evidence "
                                "WHERE correction_id = :id", id=correction_id)
    if existing + len(uploads) > evidence.MAX_FILES:
        raise TooManyFiles(existing)
    for upload in uploads:
        file_id = evidence.save(directory, upload.content)
        written.append(file_id)
        insert(conn, "correction_evidence", {
            "id_number": id_number, "entry_id": entry_id, "correction_id": correction_id,
            "file_id": file_id, "filename": upload.filename, "content_type": upload.content_type,
            "size": len(upload.content), "sha256": upload.sha256, "uploaded_at": at})
    if correction_id is not None:
        _event(conn, correction_id, at, actor, "evidence_added",
               "\n".join(upload.filename for upload in uploads))
    audit.record(conn, actor, "correction_evidence_added", id_number, {
        "correction_id": correction_id, "entry_id": entry_id,
        "files": [{"name": u.filename, "type": u.content_type, "size": len(u.content),
                   "sha256": u.sha256} for u in uploads]})


def correction_for(conn: Connection, id_number: str, correction_id: int) -> dict | None:
    """One correction, only if this resident filed it."""
    found = [c for c in corrections_for(conn, id_number) if c["id"] == correction_id]
    return found[0] if found else None


def decision_for(conn: Connection, id_number: str, correction_id: int) -> dict | None:
    """The resident's upheld correction: its reference and the reviewer's note."""
    return first(conn, "SELECT reference, decision_note FROM corrections WHERE id = :id "
                       "AND id_number = :id_number AND status = 'upheld'",
                 id=correction_id, id_number=id_number)


def correction_owner(conn: Connection, correction_id: int) -> str | None:
    return scalar(conn, "SELECT id_number FROM corrections WHERE id = :id", id=correction_id)


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
    conn: Connection, id_number: str, entry_id: int, kind: str, category: str | None,
    statement: str, evidence: str, commitment: bool, now: datetime, today: date, actor: str,
) -> dict:
    """File an objection or repair application; the entry is under dispute at once."""
    with write_transaction(conn):
        _lock_entry(conn, entry_id)
        entry = records_entries.entry_for(conn, id_number, entry_id)
        if entry is None:
            raise CorrectionError("entry not found")
        if open_for_entry(conn, entry_id) is not None:
            raise CorrectionError("already open")
        if kind == RESTORATION and not can_restore(entry, today):
            raise CorrectionError("repair not yet possible")
        days = calendar(conn)
        limit = RESTORATION_DAYS if kind == RESTORATION else DECISION_DAYS
        at = now.isoformat(timespec="seconds")
        row = {
            "reference": f"pending-{entry_id}-{at}",
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
        correction_id = insert(conn, "corrections", row, returning="id")
        reference = reference_for(correction_id, today)
        execute(conn, "UPDATE corrections SET reference = :reference WHERE id = :id",
                reference=reference, id=correction_id)
        execute(conn, "DELETE FROM correction_drafts WHERE id_number = :id_number",
                id_number=id_number)
        _event(conn, correction_id, at, actor, "submitted", None)
        _attach_pending_evidence(conn, id_number, entry_id, correction_id, at, actor)
        _message(conn, id_number, at, "correction_status", correction_id, entry_id,
                 {"reference": reference, "status": "submitted"})
        audit.record(conn, actor, "correction_filed", id_number,
                     {"correction": reference, "entry_id": entry_id, "kind": kind})
    row.update(id=correction_id, reference=reference)
    return row


def remove_pending_evidence(conn: Connection, directory: str, id_number: str, entry_id: int,
                            evidence_id: int, actor: str) -> str | None:
    """Take a file off the resident's draft before sending; its name, or None when there
    is no such file (sent files stay with their correction)."""
    with write_transaction(conn):
        found = first(conn, "SELECT file_id, filename FROM correction_evidence WHERE id = :id "
                            "AND id_number = :id_number AND entry_id = :entry_id "
                            "AND correction_id IS NULL",
                      id=evidence_id, id_number=id_number, entry_id=entry_id)
        if found is None:
            return None
        execute(conn, "DELETE FROM correction_evidence WHERE id = :id", id=evidence_id)
        audit.record(conn, actor, "correction_evidence_removed", id_number,
                     {"entry_id": entry_id, "name": found["filename"]})
    # Only once the row is gone for good: a failed commit keeps the file it names.
    evidence.remove(directory, [found["file_id"]])
    return found["filename"]


def _attach_pending_evidence(conn: Connection, id_number: str, entry_id: int,
                             correction_id: int, at: str, actor: str) -> None:
    """The files uploaded with the draft become the correction's, in its timeline."""
    names = [row["filename"] for row in pending_evidence(conn, id_number, entry_id)]
    if names:
        execute(conn, "UPDATE correction_evidence SET correction_id = :correction_id "
                      "WHERE id_number = :id_number AND entry_id = :entry_id "
                      "AND correction_id IS NULL",
                correction_id=correction_id, id_number=id_number, entry_id=entry_id)
        _event(conn, correction_id, at, actor, "evidence_added", "\n".join(names))


def _lock_entry(conn: Connection, entry_id: int) -> None:
    """Filings for one entry queue here, so the second sees the first one's correction.

    On SQLite the write lock that BEGIN IMMEDIATE takes already does this.
    """
    if is_postgresql(conn):
        # NO KEY: rows that only reference the entry (its history) are not held up.
        execute(conn, "SELECT id FROM entries WHERE id = :id FOR NO KEY UPDATE", id=entry_id)


def _event(conn: Connection, correction_id: int, at: str, actor: str, event: str,
           note: str | None) -> None:
    insert(conn, "correction_events", {"correction_id": correction_id, "at": at, "actor": actor,
                                       "event": event, "note": note})


def _message(conn: Connection, id_number: str, at: str, kind: str, correction_id: int | None,
             entry_id: int | None, params: dict, dedupe_key: str | None = None) -> None:
    """Write one inbox message (once per dedupe key) and say so to whoever else tells
    residents (`signals.resident_told`: an SMS sender, say)."""
    written = execute(
        conn,
        """INSERT INTO inbox_messages
           (id_number, at, kind, correction_id, entry_id, params, dedupe_key)
           VALUES (:id_number, :at, :kind, :correction_id, :entry_id, :params, :dedupe_key)
           ON CONFLICT (dedupe_key) DO NOTHING""",
        id_number=id_number, at=at, kind=kind, correction_id=correction_id, entry_id=entry_id,
        params=json.dumps(params, ensure_ascii=False, sort_keys=True), dedupe_key=dedupe_key,
    ).rowcount
    if written:
        signals.resident_told.send("corrections", conn=conn, id_number=id_number, kind=kind,
                                   entry_id=entry_id, correction_id=correction_id, params=params)


def save_draft(conn: Connection, id_number: str, entry_id: int, kind: str, answers: dict,
               now: datetime, uploads: list[evidence.Upload] = (), directory: str = "",
               actor: str = "") -> None:
    """Keep the answers between the form and "check your answers" (one per resident),
    with any evidence files: all or nothing."""
    written: list[str] = []
    try:
        with write_transaction(conn):
            _save_draft(conn, id_number, entry_id, kind, answers, now)
            if uploads:
                _store_evidence(conn, directory, written, id_number, entry_id, None,
                                list(uploads), now.isoformat(timespec="seconds"), actor)
    except BaseException:
        evidence.remove(directory, written)
        raise


def _save_draft(conn: Connection, id_number: str, entry_id: int, kind: str, answers: dict,
                now: datetime) -> None:
    # The upsert locks the resident's draft row: uploads for one draft queue here.
    execute(
        conn,
        """INSERT INTO correction_drafts (id_number, entry_id, kind, answers, saved_at)
           VALUES (:id_number, :entry_id, :kind, :answers, :saved_at)
           ON CONFLICT (id_number) DO UPDATE SET entry_id = excluded.entry_id,
             kind = excluded.kind, answers = excluded.answers, saved_at = excluded.saved_at""",
        id_number=id_number, entry_id=entry_id, kind=kind,
        answers=json.dumps(answers, ensure_ascii=False),
        saved_at=now.isoformat(timespec="seconds"),
    )


def load_draft(conn: Connection, id_number: str, entry_id: int, kind: str) -> dict | None:
    answers = scalar(conn, "SELECT answers FROM correction_drafts WHERE id_number = :id_number "
                           "AND entry_id = :entry_id AND kind = :kind",
                     id_number=id_number, entry_id=entry_id, kind=kind)
    return json.loads(answers) if answers else None


# ---------------------------------------------------------------- resident actions
def _change_open(conn: Connection, id_number: str, correction_id: int, at: str,
                 status: str | None = None) -> None:
    """Mark the resident's open correction changed at `at` (and give it `status`), or
    raise AlreadyDecided. The UPDATE also locks the row: changes to one case queue."""
    changed = execute(
        conn,
        sql("UPDATE corrections SET status = COALESCE(:status, status), updated_at = :at "
            "WHERE id = :id AND id_number = :id_number AND status IN :open", "open"),
        status=status, at=at, id=correction_id, id_number=id_number, open=list(OPEN_STATUSES),
    ).rowcount
    if changed != 1:
        raise AlreadyDecided("not open")


def withdraw(conn: Connection, id_number: str, correction_id: int, now: datetime,
             actor: str) -> None:
    at = now.isoformat(timespec="seconds")
    with write_transaction(conn):
        _change_open(conn, id_number, correction_id, at, "withdrawn")
        _event(conn, correction_id, at, actor, "withdrawn", None)
        audit.record(conn, actor, "correction_withdrawn", id_number,
                     {"correction_id": correction_id})


def add_information(conn: Connection, id_number: str, correction_id: int, text: str,
                    now: datetime, actor: str, uploads: list[evidence.Upload] = (),
                    directory: str = "") -> None:
    """Text, evidence files or both for an open correction: all or nothing."""
    at = now.isoformat(timespec="seconds")
    written: list[str] = []
    try:
        with write_transaction(conn):
            _change_open(conn, id_number, correction_id, at)  # uploads to it queue here
            if text:
                _event(conn, correction_id, at, actor, "info_added", text)
                audit.record(conn, actor, "correction_info_added", id_number,
                             {"correction_id": correction_id})
            if uploads:
                entry_id = scalar(conn, "SELECT entry_id FROM corrections WHERE id = :id",
                                  id=correction_id)
                _store_evidence(conn, directory, written, id_number, entry_id, correction_id,
                                list(uploads), at, actor)
    except BaseException:
        evidence.remove(directory, written)
        raise


# ---------------------------------------------------------------- inbox
def add_notice(conn: Connection, id_number: str, at: str, kind: str, title: str, text: str,
               values: dict) -> None:
    """A notice from another capability (signals.resident_notice) as an inbox message, in
    the sender's transaction; title and text are message ids translated when shown."""
    _message(conn, id_number, at, "notice", None, None,
             {"notice": kind, "title": title, "text": text, "values": values})


def inbox(conn: Connection, id_number: str) -> list[dict]:
    found = rows(
        conn,
        """SELECT m.*, c.reference FROM inbox_messages m
           LEFT JOIN corrections c ON c.id = m.correction_id
           WHERE m.id_number = :id_number ORDER BY m.at DESC, m.id DESC""",
        id_number=id_number,
    )
    for row in found:
        row["params"] = json.loads(row["params"])
    return found


def threads(messages: list[dict]) -> list[dict]:
    """Messages (newest first) as threads, newest first: all of one correction's messages
    make one thread (its status changes and the entry changes it caused); any other
    message is a thread of its own."""
    found: dict[tuple, dict] = {}
    for message in messages:
        key = (("correction", message["correction_id"]) if message["correction_id"] is not None
               else ("message", message["id"]))
        thread = found.setdefault(key, {"latest": message, "messages": [], "unread": False,
                                        "correction_id": message["correction_id"]})
        thread["messages"].append(message)
        thread["unread"] = thread["unread"] or message["read_at"] is None
    return list(found.values())


def unread_count(conn: Connection, id_number: str) -> int:
    return scalar(conn, "SELECT count(*) FROM inbox_messages WHERE id_number = :id_number "
                        "AND read_at IS NULL", id_number=id_number)


def mark_read(conn: Connection, id_number: str, message_ids: list[int], now: datetime) -> None:
    """Mark the messages the resident was shown as read (one that arrived since stays new)."""
    with write_transaction(conn):
        execute(conn, sql("UPDATE inbox_messages SET read_at = :at WHERE id_number = :id_number "
                          "AND id IN :ids AND read_at IS NULL", "ids"),
                at=now.isoformat(timespec="seconds"), id_number=id_number, ids=message_ids)


def _lifted(conn: Connection, id_number: str, entry: dict, today: date) -> int:
    """How many of the entry's restrictions no longer apply to the resident now (another
    active entry may still impose the same one)."""
    if entry["kind"] != "blacklist" or not entry["sanctions"]:
        return 0
    summary = rules.summarise(records_entries.entries_for(conn, id_number), today, 0)
    still = {sanction["code"] for sanction in summary.restrictions}
    return sum(1 for sanction in entry["sanctions"] if sanction["code"] not in still)


def note_entry_change(conn: Connection, entry_id: int, id_number: str, change: str,
                      fields: dict, at: str, correction_id: int | None, today: date) -> None:
    """One inbox message for an entry added (a department feed) or changed (a feed, a
    reviewer's decision, a restoration), in the sender's transaction."""
    if change == "added":
        new = {field: value for field, (_, value) in fields.items()}
        _message(conn, id_number, at, "entry_added", None, entry_id,
                 {"takes_effect_on": rules.takes_effect_on(new).isoformat()})
        return
    entry = records_entries.entry_for(conn, id_number, entry_id)
    # facts_en and facts_zh are one thing to the resident.
    params: dict = {"fields": sorted({field.removesuffix("_en").removesuffix("_zh")
                                      for field in fields})}
    if "expires_on" in fields:
        params["expires_on"] = fields["expires_on"][1]
    if "status" in fields:
        old, new = fields["status"]
        params["status"] = new
        was_in_force = (old == "listed" and
                        rules.entry_state({**entry, "status": old}, today) == rules.ACTIVE)
        params["lifted"] = _lifted(conn, id_number, entry, today) if was_in_force else 0
    if correction_id is not None:
        params["reference"] = scalar(conn, "SELECT reference FROM corrections WHERE id = :id",
                                     id=correction_id)
    _message(conn, id_number, at, "entry_changed", correction_id, entry_id, params)


def note_expiring_entries(conn: Connection, id_number: str, entries: list[dict], now: datetime,
                          today: date) -> int:
    """Add one inbox message per active entry (and expiry date) ending within 14 days,
    and one per entry that has ended (with how many restrictions that lifted).

    Generated lazily when the resident opens /me or /inbox, from `entries` (every entry
    about the resident, as `records.entries.entries_for` gives them). Without an entry
    ending soon there is no query at all; otherwise one read skips those already noted
    (dedupe key per entry and expiry date, so a changed expiry date gives a new
    message) and only new ones are written.
    """
    first_day, last_day = today.isoformat(), (today + timedelta(days=EXPIRY_NOTICE_DAYS)).isoformat()
    ended_since = (today - timedelta(days=EXPIRY_NOTICE_DAYS)).isoformat()
    candidates = {}
    for e in entries:
        if e["status"] != "listed" or e["expires_on"] is None:
            continue
        if (e.get("publish_on") or e["listed_on"]) <= first_day < e["expires_on"] <= last_day:
            candidates[f"expiring:{e['id']}:{e['expires_on']}"] = ("entry_expiring", e)
        elif ended_since <= e["expires_on"] <= first_day:
            candidates[f"ended:{e['id']}:{e['expires_on']}"] = ("entry_ended", e)
    if not candidates:
        return 0
    noted = {row["dedupe_key"] for row in rows(
        conn, sql("SELECT dedupe_key FROM inbox_messages WHERE dedupe_key IN :keys", "keys"),
        keys=list(candidates))}
    new = {key: found for key, found in candidates.items() if key not in noted}
    if not new:
        return 0
    at = now.isoformat(timespec="seconds")
    still = {sanction["code"] for sanction in rules.summarise(list(entries), today, 0).restrictions}
    with write_transaction(conn):
        for key, (kind, e) in new.items():
            params = {"expires_on": e["expires_on"], "list_en": e["list_name_en"],
                      "list_zh": e["list_name_zh"]}
            if kind == "entry_ended":
                params["lifted"] = sum(1 for sanction in e["sanctions"] if e["kind"] == "blacklist"
                                       and sanction["code"] not in still)
            _message(conn, id_number, at, kind, None, e["id"], params, dedupe_key=key)
    return len(new)


# ---------------------------------------------------------------- reviewers
def queue(conn: Connection, today: date, status: str = "open", list_code: str = "") -> list[dict]:
    """Cases sorted by due date, overdue ones first."""
    where, params, expanding = [], {}, []
    if status == "open":
        where.append("c.status IN :open")
        params["open"] = list(OPEN_STATUSES)
        expanding.append("open")
    elif status in STATUSES:
        where.append("c.status = :status")
        params["status"] = status
    if list_code:
        where.append("e.list_code = :list_code")
        params["list_code"] = list_code
    # The WHERE clauses are fixed strings chosen above; values are parameters.
    statement = f"""SELECT c.*, e.list_code, e.document_no, l.name_en AS list_name_en,
                           l.name_zh AS list_name_zh, r.name AS resident_name
                    FROM corrections c JOIN entries e ON e.id = c.entry_id
                    JOIN lists l ON l.code = e.list_code
                    JOIN residents r ON r.id_number = c.id_number
                    {"WHERE " + " AND ".join(where) if where else ""}
                    ORDER BY c.due_by, c.id"""
    found = rows(conn, sql(statement, *expanding), **params)
    for row in found:
        row["overdue"] = is_overdue(row, today)
    return sorted(found, key=lambda r: (not r["overdue"], r["due_by"], r["id"]))


def list_codes(conn: Connection) -> list[dict]:
    return rows(conn, "SELECT code, name_en, name_zh FROM lists ORDER BY code")


def case(conn: Connection, correction_id: int) -> dict | None:
    """Everything a reviewer needs: correction, timeline, entry, its history and the
    resident's other entries on the same list."""
    found = rows(conn, "SELECT * FROM corrections WHERE id = :id", id=correction_id)
    if not found:
        return None
    correction = _attach_events(conn, found)[0]
    entry = records_entries.entry_for(conn, correction["id_number"], correction["entry_id"])
    others = [
        e for e in records_entries.entries_for(conn, correction["id_number"])
        if e["list_code"] == entry["list_code"] and e["id"] != entry["id"]
    ]
    return {"correction": correction, "entry": entry,
            "history": records_entries.history(conn, correction["entry_id"]),
            "others": others,
            "resident": records_entries.register_record(conn, correction["id_number"])}


def _case_row(conn: Connection, correction_id: int) -> dict:
    return first(conn, "SELECT id_number, entry_id, reference FROM corrections WHERE id = :id",
                 id=correction_id)


def start_review(conn: Connection, correction_id: int, now: datetime, actor: str) -> bool:
    """Move a submitted case to 'in review'."""
    at = now.isoformat(timespec="seconds")
    with write_transaction(conn):
        changed = execute(conn, "UPDATE corrections SET status = 'in_review', updated_at = :at "
                                "WHERE id = :id AND status = 'submitted'",
                          at=at, id=correction_id).rowcount
        if changed:
            row = _case_row(conn, correction_id)
            _event(conn, correction_id, at, actor, "in_review", None)
            _message(conn, row["id_number"], at, "correction_status", correction_id,
                     row["entry_id"], {"reference": row["reference"], "status": "in_review"})
            audit.record(conn, actor, "correction_review_started", row["id_number"],
                         {"correction_id": correction_id})
    return bool(changed)


def forward(conn: Connection, correction_id: int, agency_note: str, now: datetime, today: date,
            actor: str) -> str:
    """Forward to the source agency: it decides within 5 working days from today."""
    at = now.isoformat(timespec="seconds")
    with write_transaction(conn):
        due = add_working_days(today, AGENCY_DECISION_DAYS, calendar(conn)).isoformat()
        changed = execute(
            conn,
            """UPDATE corrections SET status = 'forwarded', forwarded_at = :at, due_by = :due,
                      updated_at = :at
               WHERE id = :id AND kind = 'objection' AND status IN ('submitted', 'in_review')""",
            at=at, due=due, id=correction_id,
        ).rowcount
        if changed != 1:
            raise AlreadyDecided("cannot forward")
        row = _case_row(conn, correction_id)
        _event(conn, correction_id, at, actor, "forwarded", agency_note or None)
        _message(conn, row["id_number"], at, "correction_status", correction_id, row["entry_id"],
                 {"reference": row["reference"], "status": "forwarded", "due_by": due})
        audit.record(conn, actor, "correction_forwarded", row["id_number"],
                     {"correction_id": correction_id, "due_by": due})
    return due


def record_agency_answer(conn: Connection, correction_id: int, answer: str, now: datetime,
                         actor: str) -> None:
    at = now.isoformat(timespec="seconds")
    with write_transaction(conn):
        changed = execute(conn, "UPDATE corrections SET agency_answer = :answer, updated_at = :at "
                                "WHERE id = :id AND status = 'forwarded'",
                          answer=answer, at=at, id=correction_id).rowcount
        if changed != 1:
            raise AlreadyDecided("not forwarded")
        owner = correction_owner(conn, correction_id)
        _event(conn, correction_id, at, actor, "agency_answer", answer)
        audit.record(conn, actor, "correction_agency_answer", owner,
                     {"correction_id": correction_id})


def decide(conn: Connection, correction_id: int, outcome: str, note: str, action: str | None,
           new_facts: str | None, new_expiry: date | None, now: datetime, actor: str) -> None:
    """Uphold (changing the entry through records' change_entry) or reject, exactly once.

    The conditional UPDATE is the lock: of two reviewers deciding at the same moment,
    the second finds no open row and gets AlreadyDecided, and nothing else is written.
    """
    at = now.isoformat(timespec="seconds")
    status = "upheld" if outcome == "uphold" else "rejected"
    with write_transaction(conn):
        changed = execute(
            conn,
            sql("""UPDATE corrections SET status = :status, decided_at = :at, decided_by = :actor,
                          decision_action = :action, decision_note = :note, updated_at = :at
                   WHERE id = :id AND status IN :open""", "open"),
            status=status, at=at, actor=actor, action=action if status == "upheld" else None,
            note=note, id=correction_id, open=list(OPEN_STATUSES),
        ).rowcount
        if changed != 1:
            raise AlreadyDecided("already decided")
        row = _case_row(conn, correction_id)
        _event(conn, correction_id, at, actor, status, note)
        _message(conn, row["id_number"], at, "correction_status", correction_id, row["entry_id"],
                 {"reference": row["reference"], "status": status})
        if status == "upheld":
            _apply_to_entry(conn, row, action, new_facts, new_expiry, at, actor, correction_id)
        audit.record(conn, actor, f"correction_{status}", row["id_number"],
                     {"correction_id": correction_id, "action": action})


def _apply_to_entry(conn: Connection, row: dict, action: str | None, new_facts: str | None,
                    new_expiry: date | None, at: str, actor: str, correction_id: int) -> None:
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
    # The inbox message comes from the entry_changed signal (note_entry_change).
    records_entries.change_entry(conn, row["entry_id"], changes, actor, at,
                                 f"Correction {row['reference']} upheld", correction_id)
