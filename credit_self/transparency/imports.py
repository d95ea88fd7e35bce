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

from sqlite_utils import Database

from .. import audit, identity
from ..db import write_transaction

COLUMNS = ("id_number", "name", "facts", "document_no", "listed_on", "expires_on", "source_agency")
REQUIRED = ("id_number", "name", "document_no", "listed_on")

# Rejection reasons, in the order they are checked. The words are in views.REASONS.
REASON_CODES = (
    "missing_field",
    "id_invalid",
    "unknown_resident",
    "name_mismatch",
    "bad_date",
    "dates_out_of_order",
    "listed_in_future",
    "unknown_list",
    "duplicate_in_file",
    "document_other_person",
)

# Publication tier per list (NDRC credit-repair measures), as the seed uses it; a list
# not named here gets "general" for blacklists and focus lists, "minor" for redlists.
try:  # the seed module holds the canonical table
    from ..seeding import LIST_TIER
except ImportError:  # pragma: no cover
    LIST_TIER = {}

# Fields an import may change on an existing entry.
CHANGEABLE = ("recorded_name", "facts_zh", "source_agency_zh", "listed_on", "expires_on")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV, wrong columns, empty)."""


@dataclass
class RowResult:
    row_no: int
    data: dict
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_csv(text: str) -> list[dict]:
    """Parse the feed; every expected column must be present (in any order)."""
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in headers]
    if missing:
        raise ImportFileError(", ".join(missing))
    rows = []
    for raw in reader:
        rows.append({(k or "").strip(): (v or "").strip() for k, v in raw.items() if k})
    if not rows:
        raise ImportFileError("")
    return rows


def known_lists(db: Database) -> dict[str, dict]:
    return {row["code"]: row for row in db.query("SELECT * FROM lists ORDER BY code")}


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _check_digit_ok(number: str) -> bool:
    """GB 11643 check character (ISO 7064 MOD 11-2), computed without stdnum's overhead."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _WEIGHTS))
    return "10X98765432"[total % 11] == number[17]


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _register_names(db: Database, id_numbers: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for chunk in _chunks(sorted(id_numbers)):
        marks = ",".join("?" * len(chunk))
        for number, name in db.execute(
            f"SELECT id_number, name FROM residents WHERE id_number IN ({marks})", chunk
        ):
            names[number] = name
    return names


def _existing_entries(db: Database, keys: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    by_list: dict[str, list[str]] = {}
    for list_code, document_no in keys:
        by_list.setdefault(list_code, []).append(document_no)
    found: dict[tuple[str, str], dict] = {}
    for list_code, documents in by_list.items():
        for chunk in _chunks(sorted(documents)):
            marks = ",".join("?" * len(chunk))
            for row in db.query(
                f"SELECT * FROM entries WHERE list_code = ? AND document_no IN ({marks})",
                [list_code, *chunk],
            ):
                found[(list_code, row["document_no"])] = row
    return found


def validate(db: Database, rows: list[dict], list_code: str, today: date) -> list[RowResult]:
    """Check every row before anything is written; each gets its list of reasons."""
    lists = known_lists(db)
    numbers = {id(row): identity.normalise(row.get("id_number", "")) for row in rows}
    # Register look-up first: an ID in the register whose check digit is right is valid
    # (the register holds only valid IDs), which spares the full parse of each row.
    names = _register_names(db, {n for n in numbers.values() if len(n) == 18})
    parsed_cache: dict[str, identity.ResidentId | identity.IdProblem] = {}
    parsed_ids = {}
    for row in rows:
        number = numbers[id(row)]
        if number not in parsed_cache:
            if number in names and _check_digit_ok(number):
                parsed_cache[number] = identity.ResidentId(number)
            else:
                parsed_cache[number] = identity.parse(number)
        parsed_ids[id(row)] = parsed_cache[number]
    keys = {(row.get("list_code") or list_code, row.get("document_no", "")) for row in rows}
    existing = _existing_entries(db, keys)
    seen: set[tuple[str, str]] = set()
    results = []
    for number, row in enumerate(rows, start=1):
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
        if (row.get("listed_on") and listed is None) or (row.get("expires_on") and expires is None):
            errors.append("bad_date")
        if listed and expires and expires <= listed:
            errors.append("dates_out_of_order")
        if listed and listed > today:
            errors.append("listed_in_future")
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
    db: Database, results: list[RowResult], list_code: str, filename: str, actor: str, at: str,
    keep_rows: bool = True,
) -> str:
    """Keep a validated file on the server until someone confirms it; audited."""
    batch_id = new_batch_id()
    valid = sum(1 for r in results if r.ok)
    with write_transaction(db):
        db.table("import_batches").insert(
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
            db.table("import_rows").insert_all(
                (
                    {
                        "batch_id": batch_id,
                        "row_no": r.row_no,
                        "data": json.dumps(r.data, ensure_ascii=False),
                        "errors": json.dumps(r.errors),
                    }
                    for r in results
                ),
                batch_size=1000,
            )
        audit.record(
            db, actor, "list_import_validated", None,
            {"batch": batch_id, "list": list_code, "rows": len(results), "valid": valid},
        )
    return batch_id


def get_batch(db: Database, batch_id: str) -> dict | None:
    rows = list(db.query("SELECT * FROM import_batches WHERE id = ?", [batch_id]))
    return rows[0] if rows else None


def batch_rows(db: Database, batch_id: str) -> list[RowResult]:
    return [
        RowResult(row["row_no"], json.loads(row["data"]), json.loads(row["errors"]))
        for row in db.query(
            "SELECT * FROM import_rows WHERE batch_id = ? ORDER BY row_no", [batch_id]
        )
    ]


def recent_batches(db: Database, limit: int = 10) -> list[dict]:
    return list(
        db.query("SELECT * FROM import_batches ORDER BY created_at DESC, rowid DESC LIMIT ?", [limit])
    )


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
    tier = LIST_TIER.get(list_code) or ("minor" if lists[list_code]["kind"] == "redlist" else "general")
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
        "expires_on": expires,
        "status": "listed",
    }


def apply_import(
    db: Database, results: list[RowResult], list_code: str, batch_id: str, actor: str, at: str,
    allow_partial: bool,
) -> ImportOutcome:
    """Upsert the valid rows in one transaction; history rows name the batch.

    Refuses (ValueError) a file with rejected rows unless `allow_partial` was chosen.
    """
    rejected = sum(1 for r in results if not r.ok)
    if rejected and not allow_partial:
        raise ValueError("the file has rejected rows; import them partially only by choice")
    lists = known_lists(db)
    valid = [r for r in results if r.ok]
    outcome = ImportOutcome(skipped=rejected)
    reason = f"list import {batch_id}"
    with write_transaction(db):
        values = [_entry_values(r.data, r.data.get("list_code") or list_code, lists) for r in valid]
        existing = _existing_entries(db, {(v["list_code"], v["document_no"]) for v in values})
        new_rows, updates, history = [], [], []
        updated_subjects: list[tuple[str, str]] = []
        for value in values:
            current = existing.get((value["list_code"], value["document_no"]))
            if current is None:
                value["updated_at"] = at
                new_rows.append(value)
                continue
            changed = [f for f in CHANGEABLE if (current[f] or None) != (value[f] or None)]
            if not changed:
                outcome.unchanged += 1
                continue
            outcome.updated += 1
            updated_subjects.append((current["id_number"], current["document_no"]))
            updates.append([*(value[f] for f in CHANGEABLE), at, current["id"]])
            history.extend(
                {
                    "entry_id": current["id"],
                    "at": at,
                    "actor": actor,
                    "field": f,
                    "old_value": current[f],
                    "new_value": value[f],
                    "reason": reason,
                }
                for f in changed
            )
        if new_rows:
            _insert_many(db, "entries", new_rows)
            outcome.inserted = len(new_rows)
            created = _existing_entries(db, {(v["list_code"], v["document_no"]) for v in new_rows})
            history.extend(
                {
                    "entry_id": created[(v["list_code"], v["document_no"])]["id"],
                    "at": at,
                    "actor": actor,
                    "field": "created",
                    "old_value": None,
                    "new_value": v["document_no"],
                    "reason": reason,
                }
                for v in new_rows
            )
        if updates:
            assignments = ", ".join(f"{f} = ?" for f in CHANGEABLE)
            db.conn.executemany(
                f"UPDATE entries SET {assignments}, updated_at = ? WHERE id = ?", updates
            )
        if history:
            _insert_many(db, "entry_history", history)
        # Each created or changed entry shows in its resident's access log.
        _audit_many(
            db, actor, "list_entry_imported",
            [(v["id_number"], {"batch": batch_id, "list": v["list_code"], "document_no": v["document_no"],
                               "change": "created"}) for v in new_rows]
            + [(h_subject, {"batch": batch_id, "list": list_code, "document_no": doc, "change": "updated"})
               for h_subject, doc in updated_subjects],
            at,
        )
        db.execute(
            "UPDATE import_batches SET status = 'imported', imported_at = ?, imported_by = ?, "
            "inserted = ?, updated = ?, unchanged = ?, skipped = ? WHERE id = ?",
            [at, actor, outcome.inserted, outcome.updated, outcome.unchanged, outcome.skipped, batch_id],
        )
        audit.record(
            db, actor, "list_imported", None,
            {"batch": batch_id, "list": list_code, "inserted": outcome.inserted,
             "updated": outcome.updated, "unchanged": outcome.unchanged, "skipped": outcome.skipped},
        )
    return outcome


def _audit_many(db: Database, actor: str, action: str, events: list[tuple[str, dict]], at: str) -> None:
    """Append many audit rows at once (inside the import's transaction)."""
    audit.record_many(db, [audit.Event(actor, action, subject, detail, at=at)
                           for subject, detail in events])


def _insert_many(db: Database, table: str, rows: list[dict]) -> None:
    """One executemany per table: much faster than insert_all for 100,000 rows.

    Table and column names come from this module, never from the file.
    """
    if not rows:
        return
    columns = list(rows[0])
    sql = (
        f"INSERT INTO [{table}] ({', '.join(f'[{c}]' for c in columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    db.conn.executemany(sql, ([row.get(c) for c in columns] for row in rows))
