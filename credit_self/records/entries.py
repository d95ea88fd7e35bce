"""Entries data layer: a resident's list entries with their list and sanctions, and the
one way an entry changes (with its history, and the `entry_changed` signal).

Every read is scoped by the resident's ID number; there is no way to fetch an entry
without naming whose it must be.
"""
from __future__ import annotations

from sqlalchemy import Connection

from .. import catalog, signals
from ..db import execute, first, insert_many, rows, sql

# What an entry shows of its list, under the names the templates use.
_LIST_FIELDS = {
    "name_en": "list_name_en", "name_zh": "list_name_zh", "kind": "kind",
    "authority_en": "authority_en", "authority_zh": "authority_zh",
    "legal_basis_en": "legal_basis_en", "legal_basis_zh": "legal_basis_zh",
    "default_days": "default_days", "restoration_en": "restoration_en",
    "restoration_zh": "restoration_zh", "restoration_min_days": "restoration_min_days",
}
# Fields a decision or a department feed may change, and how history names them.
CHANGEABLE = ("status", "facts_en", "facts_zh", "expires_on", "listed_on", "recorded_name",
              "source_agency_zh")


def _with_list(conn: Connection, found: list[dict]) -> list[dict]:
    """Add each entry's list (name, kind, authority, legal basis, restoration route) and
    the sanctions it triggers, from the catalog kept in memory (see catalog.py)."""
    if not found:
        return found
    known = catalog.current(conn)
    for entry in found:
        its_list = known.lists[entry["list_code"]]
        for column, name in _LIST_FIELDS.items():
            entry[name] = its_list[column]
        # Shared with every other request: a fresh list, the same read-only dicts.
        entry["sanctions"] = list(known.sanctions_by_list[entry["list_code"]])
    return found


def entries_for(conn: Connection, id_number: str) -> list[dict]:
    """Every entry about this resident, whatever its status."""
    return _with_list(conn, rows(conn, "SELECT * FROM entries WHERE id_number = :id_number "
                                       "ORDER BY id", id_number=id_number))


def entry_for(conn: Connection, id_number: str, entry_id: int) -> dict | None:
    """One entry, only if it is about this resident."""
    found = rows(conn, "SELECT * FROM entries WHERE id = :id AND id_number = :id_number",
                 id=entry_id, id_number=id_number)
    return _with_list(conn, found)[0] if found else None


def register_record(conn: Connection, id_number: str) -> dict | None:
    """The population register's identifiers for the resident, to compare with what
    departments recorded."""
    return first(conn, "SELECT * FROM residents WHERE id_number = :id_number",
                 id_number=id_number)


def history(conn: Connection, entry_id: int) -> list[dict]:
    return rows(conn, "SELECT * FROM entry_history WHERE entry_id = :id ORDER BY at, id",
                id=entry_id)


def closing_changes(conn: Connection, entry_ids: list[int]) -> dict[int, dict]:
    """The status change that closed each entry (its last one): when, why, and the
    correction whose decision made it (correction_id), by entry id."""
    found: dict[int, dict] = {}
    for start in range(0, len(entry_ids), 500):
        for row in rows(conn, sql("SELECT entry_id, at, reason, correction_id FROM entry_history "
                                  "WHERE field = 'status' AND entry_id IN :ids ORDER BY at, id",
                                  "ids"), ids=entry_ids[start:start + 500]):
            found[row["entry_id"]] = row
    return found


# ------------------------------------------------------------------ writes
# Callers hold the write transaction; receivers of `entry_changed` write in it too.


def add_entries(conn: Connection, new: list[dict], actor: str, at: str, reason: str) -> list[int]:
    """Insert a department's new listings (one "created" history row each); their ids.

    The entries share a list and are identified there by their document numbers.
    """
    if not new:
        return []
    insert_many(conn, "entries", new)
    ids = {}
    for list_code in {entry["list_code"] for entry in new}:
        documents = [entry["document_no"] for entry in new if entry["list_code"] == list_code]
        for start in range(0, len(documents), 500):
            for row in rows(conn, sql("SELECT id, document_no FROM entries WHERE list_code = :code "
                                      "AND document_no IN :documents", "documents"),
                            code=list_code, documents=documents[start:start + 500]):
                ids[(list_code, row["document_no"])] = row["id"]
    entry_ids = [ids[(entry["list_code"], entry["document_no"])] for entry in new]
    insert_many(conn, "entry_history", [
        {"entry_id": entry_id, "at": at, "actor": actor, "field": "created", "old_value": None,
         "new_value": entry["document_no"], "reason": reason, "correction_id": None}
        for entry_id, entry in zip(entry_ids, new)
    ])
    for entry_id, entry in zip(entry_ids, new):
        # A new entry's fields all change from nothing: receivers need no query.
        signals.entry_changed.send("records", conn=conn, entry_id=entry_id,
                                   id_number=entry["id_number"], change="added",
                                   fields={name: (None, value) for name, value in entry.items()},
                                   at=at, actor=actor, reason=reason, correction_id=None)
    return entry_ids


def change_entry(conn: Connection, entry_id: int, changes: dict, actor: str, at: str,
                 reason: str, correction_id: int | None = None) -> dict:
    """Change fields of an entry, one entry_history row per field that really changes;
    returns {field: (old, new)} of what changed (nothing when nothing did)."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ValueError(f"not a changeable entry field: {sorted(unknown)}")
    current = first(conn, "SELECT * FROM entries WHERE id = :id", id=entry_id)
    if current is None:
        raise LookupError(entry_id)
    changed = {field: (current[field], value) for field, value in changes.items()
               if current[field] != value}
    if not changed:
        return {}
    insert_many(conn, "entry_history", [
        {"entry_id": entry_id, "at": at, "actor": actor, "field": field, "old_value": old,
         "new_value": new, "reason": reason, "correction_id": correction_id}
        for field, (old, new) in changed.items()
    ])
    # Column names come from CHANGEABLE (checked above), never from input.
    assignments = ", ".join(f"{field} = :{field}" for field in changed)
    execute(conn, f"UPDATE entries SET {assignments}, updated_at = :at WHERE id = :id",
            id=entry_id, at=at, **{field: new for field, (_, new) in changed.items()})
    signals.entry_changed.send("records", conn=conn, entry_id=entry_id, id_number=current["id_number"],
                               change="changed", fields=changed, at=at, actor=actor,
                               reason=reason, correction_id=correction_id)
    return changed
