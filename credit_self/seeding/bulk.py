"""Bulk loading for the seed: millions of rows in one transaction, on either engine.

SQLite: sqlite-utils' `insert_all` on the connection's own sqlite3 handle (it nests in
the open transaction as a savepoint), with the fast PRAGMAs of a one-off load.
PostgreSQL: COPY through psycopg 3. Either way, a table's plain indexes are dropped
before the load and built once at the end, which is much faster than keeping them up
to date row by row.
"""
from __future__ import annotations

import contextlib
import itertools
from typing import Iterable, Iterator, Sequence

from sqlalchemy import Connection
from sqlite_utils import Database

from ..db import in_write_transaction, is_postgresql, rows, scalar

BATCH = 10_000


def load(conn: Connection, table: str, columns: Sequence[str], records: Iterable[Sequence]) -> int:
    """Append rows (sequences in `columns` order) to `table`; how many were loaded.
    Table and column names come from the seed's code, never from input."""
    if is_postgresql(conn):
        return _copy(conn, table, columns, records)
    counted = _Counted(records)
    # The handle is the pool's: leave its settings as they were (sqlite-utils would
    # turn recursive triggers on, and let plugins prepare it).
    sqlite = Database(conn.connection.driver_connection, recursive_triggers=False,
                      execute_plugins=False)
    # A stream of sequences whose first item names the columns: no dict per row.
    sqlite.table(table).insert_all(itertools.chain([tuple(columns)], counted),
                                   batch_size=BATCH)
    return counted.count


def load_dicts(conn: Connection, table: str, records: list[dict]) -> int:
    if not records:
        return 0
    columns = list(records[0])
    return load(conn, table, columns, ([record.get(c) for c in columns] for record in records))


class _Counted:
    def __init__(self, records: Iterable[Sequence]) -> None:
        self.records, self.count = records, 0

    def __iter__(self) -> Iterator[Sequence]:
        for record in self.records:
            self.count += 1
            yield record


def _copy(conn: Connection, table: str, columns: Sequence[str], records: Iterable[Sequence]) -> int:
    names = ", ".join(f'"{name}"' for name in columns)
    count = 0
    with conn.connection.driver_connection.cursor() as cursor:
        with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for record in records:
                copy.write_row(record)
                count += 1
    return count


def continue_ids(conn: Connection, table: str) -> None:
    """After rows were loaded with their own ids: new rows continue after the largest
    (PostgreSQL's sequence does not see ids it did not hand out; SQLite needs nothing)."""
    if is_postgresql(conn):
        scalar(conn, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"(SELECT COALESCE(MAX(id), 0) + 1 FROM \"{table}\"), false)")


@contextlib.contextmanager
def indexes_rebuilt_after(conn: Connection, table: str) -> Iterator[None]:
    """Drop the table's plain (non-unique) indexes, and build them again on exit (on an
    error the transaction rolls back, which restores them)."""
    if is_postgresql(conn):
        found = rows(conn, "SELECT i.indexname AS name, i.indexdef AS sql FROM pg_indexes i "
                           "JOIN pg_index x ON x.indexrelid = i.indexname::regclass "
                           "WHERE i.schemaname = current_schema() AND i.tablename = :table "
                           "AND NOT x.indisunique", table=table)
    else:
        found = rows(conn, "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                           "AND tbl_name = :table AND sql IS NOT NULL "
                           "AND sql NOT LIKE 'CREATE UNIQUE%'", table=table)
    for index in found:
        conn.exec_driver_sql(f'DROP INDEX "{index["name"]}"')
    yield
    for index in found:
        conn.exec_driver_sql(index["sql"])


@contextlib.contextmanager
def fast_sqlite_load(conn: Connection) -> Iterator[None]:
    """SQLite PRAGMAs for a one-off load, restored afterwards. synchronous=OFF skips
    fsync: a crash mid-seed may corrupt the file, acceptable for a seed that is re-run
    from scratch. (PostgreSQL needs nothing: COPY is its fast path.)"""
    if is_postgresql(conn) or in_write_transaction(conn):
        # Changing them would commit a caller's unfinished write: load at normal speed.
        yield
        return
    # On the sqlite3 handle itself, outside any transaction (SQLite refuses to change
    # synchronous inside one); what was read so far ends here.
    if conn.in_transaction():
        conn.commit()
    sqlite = conn.connection.driver_connection
    names = ("synchronous", "cache_size", "temp_store")
    saved = {name: sqlite.execute(f"PRAGMA {name}").fetchone()[0] for name in names}
    for pragma in ("synchronous = OFF", "cache_size = -262144", "temp_store = MEMORY"):
        sqlite.execute(f"PRAGMA {pragma}")
    try:
        yield
    finally:
        for name, value in saved.items():
            sqlite.execute(f"PRAGMA {name} = {int(value)}")
