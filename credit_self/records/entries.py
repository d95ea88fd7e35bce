"""Entries data layer: a resident's list entries with their list and sanctions.

Every query is scoped by the resident's ID number; there is no way to fetch an entry
without naming whose it must be.
"""
from sqlite_utils import Database

from .. import catalog

# What an entry shows of its list, under the names the templates use.
_LIST_FIELDS = {
    "name_en": "list_name_en", "name_zh": "list_name_zh", "kind": "kind",
    "authority_en": "authority_en", "authority_zh": "authority_zh",
    "legal_basis_en": "legal_basis_en", "legal_basis_zh": "legal_basis_zh",
    "default_days": "default_days", "restoration_en": "restoration_en",
    "restoration_zh": "restoration_zh", "restoration_min_days": "restoration_min_days",
}


def _with_list(db: Database, rows: list[dict]) -> list[dict]:
    """Add each entry's list (name, kind, authority, legal basis, restoration route) and
    the sanctions it triggers, from the catalog kept in memory (see catalog.py)."""
    if not rows:
        return rows
    known = catalog.current(db)
    for entry in rows:
        its_list = known.lists[entry["list_code"]]
        for column, name in _LIST_FIELDS.items():
            entry[name] = its_list[column]
        # Shared with every other request: a fresh list, the same read-only dicts.
        entry["sanctions"] = list(known.sanctions_by_list[entry["list_code"]])
    return rows


def entries_for(db: Database, id_number: str) -> list[dict]:
    """Every entry about this resident, whatever its status."""
    return _with_list(db, list(db.query("SELECT * FROM entries WHERE id_number = ?", [id_number])))


def entry_for(db: Database, id_number: str, entry_id: int) -> dict | None:
    """One entry, only if it is about this resident."""
    rows = _with_list(db, list(db.query(
        "SELECT * FROM entries WHERE id = ? AND id_number = ?", [entry_id, id_number]
    )))
    return rows[0] if rows else None


def register_record(db: Database, id_number: str) -> dict | None:
    """The population register's identifiers for the resident, to compare with what
    departments recorded."""
    rows = list(db.query("SELECT * FROM residents WHERE id_number = ?", [id_number]))
    return rows[0] if rows else None


def entry_owner(db: Database, entry_id: int) -> str | None:
    """Whose entry this is, for auditing a refused attempt to read it."""
    row = db.execute("SELECT id_number FROM entries WHERE id = ?", [entry_id]).fetchone()
    return row[0] if row else None
