"""The catalog in memory: every list and the sanctions each one triggers.

Lists and sanctions are reference data: `flask seed` loads them from `seed/` and they
change only when the catalog is loaded again. Yet every record page showed them by
joining `lists` into the entry query and reading `list_sanctions` x `sanctions` again
(the most expensive query on /me). Each process keeps the catalog once, keyed by the
database's catalog token.

The token is not a timestamp or a counter kept by the code that writes: triggers on the
three tables (migration m007) replace it with a fresh random value on every insert,
update or delete, from any process or from the sqlite3 shell, in the same transaction.
A page reads the token (one indexed row) and uses the catalog loaded under it, so a
catalog change is seen by the very next request, and two databases never share a token.

The dicts handed out are shared by every request of the process: read them, never
change them (`records.entries` copies the fields it merges into an entry).
"""
from dataclasses import dataclass

from sqlite_utils import Database

from .keep import kept

# Catalogs kept per process: one per database in use (tests open many).
_KEPT = 32


@dataclass(frozen=True)
class Catalog:
    token: str
    lists: dict[str, dict]
    sanctions_by_list: dict[str, list[dict]]


_catalogs: dict[str, Catalog] = {}


def token(db: Database) -> str:
    """The catalog's current token (changes with every write to the catalog tables)."""
    return db.execute("SELECT token FROM catalog_token").fetchone()[0]


def current(db: Database) -> Catalog:
    """The catalog as the database holds it now."""
    now = token(db)
    return kept(_catalogs, now, lambda: _load(db, now), _KEPT)


def _load(db: Database, now: str) -> Catalog:
    lists = {row["code"]: row for row in db.query("SELECT * FROM lists")}
    sanctions_by_list: dict[str, list[dict]] = {code: [] for code in lists}
    for row in db.query(
        """SELECT ls.list_code, s.* FROM list_sanctions ls
           JOIN sanctions s ON s.code = ls.sanction_code
           ORDER BY s.code"""
    ):
        sanctions_by_list[row.pop("list_code")].append(row)
    return Catalog(now, lists, sanctions_by_list)
