"""The catalog from seed/: lists, sanctions and which list triggers which, scoring pilots
and the official holiday calendar. Production code: `flask seed` runs it, and running it
again updates the catalog in place."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from ..db import execute_many, rows, write_transaction
from .tables import SEED_DIR


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def _upsert(conn: Connection, table: str, records: list[dict], key: tuple[str, ...]) -> None:
    """INSERT, or UPDATE the row with the same key (the same SQL on both engines).
    Table and column names come from this module, never from a file."""
    if not records:
        return
    columns = list(records[0])
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f":{c}" for c in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in key)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    execute_many(conn, f'INSERT INTO "{table}" ({names}) VALUES ({values}) '
                       f'ON CONFLICT ({", ".join(key)}) {action}',
                 [{c: record.get(c) for c in columns} for record in records])


def load_catalog(conn: Connection, seed_dir: Path | str = SEED_DIR) -> dict[str, int]:
    """Upsert the catalog (lists, sanctions, list_sanctions, pilots, holidays).

    Safe to run again: rows are matched on their primary keys. A pilot that already
    exists keeps its status, so re-loading never resumes a pilot an administrator paused
    or closed.
    """
    seed_dir = Path(seed_dir)
    lists = _read_json(seed_dir / "lists.json")
    sanctions = _read_json(seed_dir / "sanctions.json")
    links = _read_json(seed_dir / "list_sanctions.json")
    pilots = _read_json(seed_dir / "pilots.json")
    with (seed_dir / "holidays.csv").open(encoding="utf-8", newline="") as f:
        holidays = list(csv.DictReader(f))

    with write_transaction(conn):
        status_now = {row["code"]: row["status"]
                      for row in rows(conn, "SELECT code, status FROM pilots")}
        pilot_rows = []
        for pilot in pilots:
            row = dict(pilot)
            row["grade_bands"] = json.dumps(pilot["grade_bands"], ensure_ascii=False)
            row["rules"] = json.dumps(pilot["rules"], ensure_ascii=False)
            row["status"] = status_now.get(row["code"], row["status"])
            pilot_rows.append(row)
        _upsert(conn, "lists", lists, ("code",))
        _upsert(conn, "sanctions", sanctions, ("code",))
        _upsert(conn, "list_sanctions", links, ("list_code", "sanction_code"))
        _upsert(conn, "pilots", pilot_rows, ("code",))
        _upsert(conn, "holidays", holidays, ("day",))
    return {
        "lists": len(lists),
        "sanctions": len(sanctions),
        "list_sanctions": len(links),
        "pilots": len(pilots),
        "holidays": len(holidays),
    }
