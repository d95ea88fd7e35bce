"""The catalog in memory: every list and the sanctions each one triggers.

Lists and sanctions are reference data that change only when the catalog is loaded
again, yet every record page shows them. Each process keeps the catalog once, keyed by
the database's catalog token.

The token is not kept by the code that writes: triggers on the three tables (both
engines; see the core baseline migration) replace it with a fresh random value on every
insert, update or delete, from any process or any SQL shell, in the same transaction. A
page reads the token (one row) and uses the catalog loaded under it, so a change is seen
by the very next request, on every server.

The dicts handed out are shared by every request of the process: read them, never change
them (records.entries copies the fields it merges into an entry).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import Connection

from .db import rows, scalar

# Catalogs kept per process: one per database in use (the tests open many).
_MOST_KEPT = 32


@dataclass(frozen=True)
class Catalog:
    token: str
    lists: dict[str, dict]
    sanctions_by_list: dict[str, list[dict]]


_catalogs: dict[str, Catalog] = {}
_lock = threading.Lock()


def token(conn: Connection) -> str:
    """The catalog's current token (changes with every write to the catalog tables)."""
    return scalar(conn, "SELECT token FROM catalog_token")


def current(conn: Connection) -> Catalog:
    """The catalog as the database holds it now."""
    now = token(conn)
    found = _catalogs.get(now)
    if found is None:
        found = _load(conn, now)
        with _lock:
            if len(_catalogs) >= _MOST_KEPT:
                _catalogs.clear()
            _catalogs[now] = found
    return found


def _load(conn: Connection, now: str) -> Catalog:
    lists = {row["code"]: row for row in rows(conn, "SELECT * FROM lists")}
    sanctions_by_list: dict[str, list[dict]] = {code: [] for code in lists}
    for row in rows(conn, """SELECT ls.list_code, s.* FROM list_sanctions ls
                             JOIN sanctions s ON s.code = ls.sanction_code
                             ORDER BY s.code"""):
        sanctions_by_list[row.pop("list_code")].append(row)
    return Catalog(now, lists, sanctions_by_list)
