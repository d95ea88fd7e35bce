"""Department list feeds: validate a CSV row by row, then upsert the valid rows.

No Flask here: the admin pages and `flask import-list` both call these functions.

A row is identified by (list_code, document_no) (a UNIQUE index on entries). Re-importing
the same file changes nothing; a changed field on an existing entry is updated and gets
an entry_history row naming the import batch.
"""
import csv
import io
import json
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable

from sqlalchemy import Connection

from .. import audit, identity
from ..db import execute, first, insert, insert_many, rows, sql, write_transaction
from ..progress import progress
from ..records import entries as records_entries
from ..records.rules import tier_for

COLUMNS = ("id_number", "name", "facts", "document_no", "listed_on", "expires_on", "source_agency")
REQUIRED = ("id_number", "name", "document_no", "listed_on")
# Optional: the day a new listing takes effect, after a notice period (SZ 2023 Art. 39).
# Without it the entry takes effect on listed_on.
PUBLISH_ON = "publish_on"

# Rejection reasons, in the order they are checked. The words are in views.REASONS.
REASON_CODES = (
    "missing_field",
    "id_invalid",
    "unknown_resident",
    "name_mismatch",
    "bad_date",
    "dates_out_of_order",
    "listed_in_future",
    "publish_before_import",
    "unknown_list",
    "duplicate_in_file",
    "document_other_person",
)

# Fields an import may change on an existing entry.
CHANGEABLE = ("recorded_name", "facts_zh", "source_agency_zh", "listed_on", "expires_on")
# Longest value of one field: a department's facts run to a few paragraphs at most.
FIELD_MAX = 10_000


class ImportFileError(ValueError):
    """The file as a whole cannot be read; `code` says why (the pages word it)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


@dataclass
class RowResult:
    row_no: int
    data: dict
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_csv(text: str) -> list[dict]:
    """Parse the feed; every expected column must be present (in any order). Any line
    ending (CRLF, LF, a lone CR) is accepted."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    # Strict: a quote left open would otherwise swallow the rest of the file into one
    # field, and the rows after it would silently go missing.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        headers = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in COLUMNS if c not in headers]
        if missing:
            raise ImportFileError("missing_columns", ", ".join(missing))
        found = []
        for raw in reader:
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()
                   if k and isinstance(v, str)}
            if any(len(value) > FIELD_MAX for value in row.values()):
                raise ImportFileError("field_too_long", str(reader.line_num))
            found.append(row)
    except csv.Error as problem:
        # The DictReader's line count is only updated after a whole row: ask its reader.
        line = reader.reader.line_num
        # The csv module's own limit (131,072 characters) is above FIELD_MAX: its
        # refusal is an over-long field too, not a broken file.
        if "field larger than field limit" in str(problem):
            raise ImportFileError("field_too_long", str(line)) from None
        raise ImportFileError("not_csv", f"line {line}: {problem}") from None
    if not found:
        raise ImportFileError("no_rows")
    return found


def known_lists(conn: Connection) -> dict[str, dict]:
    return {row["code"]: row for row in rows(conn, "SELECT * FROM lists ORDER BY code")}


def _parse_date(value: str) -> date | None:
    """A real date written YYYY-MM-DD: it is stored as written, and fromisoformat alone
    also takes forms such as 20250301 that would not sort among the others."""
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.isoformat() == value else None


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


_REGISTER_NAMES = sql("SELECT id_number, name FROM residents WHERE id_number IN :numbers",
                      "numbers")
_ENTRIES_BY_DOCUMENT = sql("SELECT * FROM entries WHERE list_code = :code "
                           "AND document_no IN :documents", "documents")


def _register_names(conn: Connection, id_numbers: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for chunk in _chunks(sorted(id_numbers)):
        for row in rows(conn, _REGISTER_NAMES, numbers=chunk):
            names[row["id_number"]] = row["name"]
    return names


def _existing_entries(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    by_list: dict[str, list[str]] = {}
    for list_code, document_no in keys:
        by_list.setdefault(list_code, []).append(document_no)
    found: dict[tuple[str, str], dict] = {}
    for list_code, documents in by_list.items():
        for chunk in _chunks(sorted(documents)):
            for row in rows(conn, _ENTRIES_BY_DOCUMENT, code=list_code, documents=chunk):
                found[(list_code, row["document_no"])] = row
    return found


def validate(conn: Connection, feed: list[dict], list_code: str, today: date) -> list[RowResult]:
    """Check every row before anything is written; each gets its list of reasons."""
    lists = known_lists(conn)
    parsed_ids = {}
    with progress(len(feed), "Checking ID numbers") as bar:
        for row in feed:
            parsed_ids[id(row)] = identity.parse(row.get("id_number", ""))
            bar.update(1)
    names = _register_names(conn, {parsed.number for parsed in parsed_ids.values()
                                   if isinstance(parsed, identity.ResidentId)})
    keys = {(row.get("list_code") or list_code, row.get("document_no", "")) for row in feed}
    existing = _existing_entries(conn, keys)
    seen: set[tuple[str, str]] = set()
    results = []
    for number, row in enumerate(feed, start=1):
        errors: list[str] = []
        code = row.get("list_code") or list_code
        if any(not row.get(column) for column in REQUIRED):
            errors.append("missing_field")
        parsed = parsed_ids[id(row)]
        if row.get("id_number"):
            if not isinstance(parsed, identity.ResidentId):
                errors.append("id_invalid")
            elif parsed.number not in names:
                errors.append("unknown_resident")
            elif row.get("name") and names[parsed.number] != row["name"]:
                errors.append("name_mismatch")
        listed = _parse_date(row["listed_on"]) if row.get("listed_on") else None
        expires = _parse_date(row["expires_on"]) if row.get("expires_on") else None
        publish = _parse_date(row[PUBLISH_ON]) if row.get(PUBLISH_ON) else None
        if any(row.get(column) and parsed_date is None for column, parsed_date in
               (("listed_on", listed), ("expires_on", expires), (PUBLISH_ON, publish))):
            errors.append("bad_date")
        if listed and expires and expires <= listed:
            errors.append("dates_out_of_order")
        if listed and listed > today:
            errors.append("listed_in_future")
        if publish and publish < today:
            errors.append("publish_before_import")
        if code not in lists:
            errors.append("unknown_list")
        key = (code, row.get("document_no", ""))
        if row.get("document_no"):
            if key in seen:
                errors.append("duplicate_in_file")
            seen.add(key)
            current = existing.get(key)
            if (
                current is not None
                and isinstance(parsed, identity.ResidentId)
                and current["id_number"] != parsed.number
            ):
                errors.append("document_other_person")
        results.append(RowResult(number, row, errors))
    return results


# ---------------------------------------------------------------- stored batches (web)


def new_batch_id() -> str:
    return secrets.token_urlsafe(16)


def store_batch(
    conn: Connection, results: list[RowResult], list_code: str, filename: str, actor: str,
    at: str, keep_rows: bool = True,
) -> str:
    """Keep a validated file on the server until someone confirms it; audited."""
    batch_id = new_batch_id()
    valid = sum(1 for r in results if r.ok)
    with write_transaction(conn):
        insert(
            conn, "import_batches",
            {
                "id": batch_id,
                "list_code": list_code,
                "filename": filename,
                "created_at": at,
                "created_by": actor,
                "total_rows": len(results),
                "valid_rows": valid,
                "status": "validated",
            }
        )
        if keep_rows:
            insert_many(conn, "import_rows", [
                {"batch_id": batch_id, "row_no": r.row_no,
                 "data": json.dumps(r.data, ensure_ascii=False), "errors": json.dumps(r.errors)}
                for r in results
            ])
        audit.record(
            conn, actor, "list_import_validated", None,
            {"batch": batch_id, "list": list_code, "rows": len(results), "valid": valid},
        )
    return batch_id


def get_batch(conn: Connection, batch_id: str) -> dict | None:
    return first(conn, "SELECT * FROM import_batches WHERE id = :id", id=batch_id)


def batch_rows(conn: Connection, batch_id: str) -> list[RowResult]:
    return [
        RowResult(row["row_no"], json.loads(row["data"]), json.loads(row["errors"]))
        for row in rows(conn, "SELECT * FROM import_rows WHERE batch_id = :id ORDER BY row_no",
                        id=batch_id)
    ]


def recent_batches(conn: Connection, limit: int = 10) -> list[dict]:
    return rows(conn, "SELECT * FROM import_batches ORDER BY created_at DESC, id LIMIT :limit",
                limit=limit)


# ---------------------------------------------------------------- writing entries


@dataclass
class ImportOutcome:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


def _entry_values(row: dict, list_code: str, lists: dict[str, dict]) -> dict:
    number = identity.normalise(row["id_number"])
    listed = date.fromisoformat(row["listed_on"])
    if row.get("expires_on"):
        expires: str | None = row["expires_on"]
    elif lists[list_code]["default_days"]:
        expires = (listed + timedelta(days=lists[list_code]["default_days"])).isoformat()
    else:
        expires = None
    tier = tier_for(list_code, lists[list_code]["kind"])
    return {
        "list_code": list_code,
        "id_number": number,
        "recorded_name": row["name"],
        # What the ID itself states (validated before): sex digit, birth year, region.
        "recorded_sex": "M" if int(number[16]) % 2 else "F",
        "recorded_birth_year": int(number[6:10]),
        "recorded_region_code": number[:6],
        "tier": tier,
        "facts_zh": row.get("facts") or None,
        "document_no": row["document_no"],
        "source_agency_zh": row.get("source_agency") or None,
        "listed_on": row["listed_on"],
        "publish_on": row.get(PUBLISH_ON) or None,
        "expires_on": expires,
        "status": "listed",
    }


def apply_import(
    conn: Connection, results: list[RowResult], list_code: str, batch_id: str, actor: str,
    at: str, allow_partial: bool,
) -> ImportOutcome | None:
    """Add or change the valid rows' entries in one transaction, through records' entry
    functions (history rows name the batch; the `entry_changed` signal goes out).

    Refuses (ValueError) a file with rejected rows unless `allow_partial` was chosen.
    None when the batch was already imported (a second confirmation): nothing is written.
    """
    rejected = sum(1 for r in results if not r.ok)
    if rejected and not allow_partial:
        raise ValueError("the file has rejected rows; import them partially only by choice")
    lists = known_lists(conn)
    valid = [r for r in results if r.ok]
    outcome = ImportOutcome(skipped=rejected)
    reason = f"list import {batch_id}"
    with write_transaction(conn):
        # Claimed before anything else: of two confirmations at once (a double click),
        # the second waits for the first and then finds the batch taken.
        claimed = execute(conn, "UPDATE import_batches SET status = 'imported', imported_at = :at, "
                                "imported_by = :actor WHERE id = :id AND status = 'validated'",
                          at=at, actor=actor, id=batch_id).rowcount
        if not claimed:
            return None
        values = [_entry_values(r.data, r.data.get("list_code") or list_code, lists) for r in valid]
        existing = _existing_entries(conn, {(v["list_code"], v["document_no"]) for v in values})
        new_rows, audited = [], []
        with progress(len(values), "Importing") as bar:
            for value in values:
                bar.update(1)
                current = existing.get((value["list_code"], value["document_no"]))
                if current is None:
                    value["updated_at"] = at
                    new_rows.append(value)
                    continue
                changes = {f: value[f] for f in CHANGEABLE if (current[f] or None) != (value[f] or None)}
                if not changes:
                    outcome.unchanged += 1
                    continue
                records_entries.change_entry(conn, current["id"], changes, actor, at, reason)
                outcome.updated += 1
                audited.append((current["id_number"], {
                    "batch": batch_id, "list": value["list_code"],
                    "document_no": value["document_no"], "change": "updated"}))
        records_entries.add_entries(conn, new_rows, actor, at, reason)
        outcome.inserted = len(new_rows)
        # Each created or changed entry shows in its resident's access log.
        audit.record_many(conn, [
            audit.Event(actor, "list_entry_imported", subject, detail, at=at)
            for subject, detail in [
                (v["id_number"], {"batch": batch_id, "list": v["list_code"],
                                  "document_no": v["document_no"], "change": "created"})
                for v in new_rows] + audited
        ])
        execute(conn, "UPDATE import_batches SET inserted = :inserted, updated = :updated, "
                      "unchanged = :unchanged, skipped = :skipped WHERE id = :id",
                inserted=outcome.inserted, updated=outcome.updated,
                unchanged=outcome.unchanged, skipped=outcome.skipped, id=batch_id)
        audit.record(
            conn, actor, "list_imported", None,
            {"batch": batch_id, "list": list_code, "inserted": outcome.inserted,
             "updated": outcome.updated, "unchanged": outcome.unchanged, "skipped": outcome.skipped},
        )
    return outcome
