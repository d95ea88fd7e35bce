"""Entries data layer: a resident's list entries with their list and sanctions.

Every query is scoped by the resident's ID number; there is no way to fetch an entry
without naming whose it must be.
"""
from sqlite_utils import Database

_ENTRY_COLUMNS = """
    e.*, l.name_en AS list_name_en, l.name_zh AS list_name_zh, l.kind,
    l.authority_en, l.authority_zh, l.legal_basis_en, l.legal_basis_zh,
    l.default_days, l.restoration_en, l.restoration_zh, l.restoration_min_days
"""


def _attach_sanctions(db: Database, entries: list[dict]) -> list[dict]:
    codes = sorted({e["list_code"] for e in entries})
    by_list: dict[str, list[dict]] = {code: [] for code in codes}
    if codes:
        placeholders = ",".join("?" for _ in codes)
        for row in db.query(
            f"""SELECT ls.list_code, s.* FROM list_sanctions ls
                JOIN sanctions s ON s.code = ls.sanction_code
                WHERE ls.list_code IN ({placeholders})
                ORDER BY s.code""",
            codes,
        ):
            by_list[row.pop("list_code")].append(row)
    for entry in entries:
        entry["sanctions"] = by_list.get(entry["list_code"], [])
    return entries


def entries_for(db: Database, id_number: str) -> list[dict]:
    """Every entry about this resident, whatever its status."""
    rows = list(
        db.query(
            f"""SELECT {_ENTRY_COLUMNS} FROM entries e
                JOIN lists l ON l.code = e.list_code
                WHERE e.id_number = ?""",
            [id_number],
        )
    )
    return _attach_sanctions(db, rows)


def entry_for(db: Database, id_number: str, entry_id: int) -> dict | None:
    """One entry, only if it is about this resident."""
    rows = list(
        db.query(
            f"""SELECT {_ENTRY_COLUMNS} FROM entries e
                JOIN lists l ON l.code = e.list_code
                WHERE e.id = ? AND e.id_number = ?""",
            [entry_id, id_number],
        )
    )
    return _attach_sanctions(db, rows)[0] if rows else None


def register_record(db: Database, id_number: str) -> dict | None:
    """The population register's identifiers for the resident, to compare with what
    departments recorded."""
    rows = list(db.query("SELECT * FROM residents WHERE id_number = ?", [id_number]))
    return rows[0] if rows else None


def entry_owner(db: Database, entry_id: int) -> str | None:
    """Whose entry this is, for auditing a refused attempt to read it."""
    row = db.execute("SELECT id_number FROM entries WHERE id = ?", [entry_id]).fetchone()
    return row[0] if row else None
