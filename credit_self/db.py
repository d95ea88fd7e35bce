"""Database access: one SQLAlchemy Core engine per app, on SQLite or PostgreSQL.

`DATABASE_URL` picks the engine: `sqlite:///instance/credit_self.db` (the embedded
default) or `postgresql+psycopg://user@host/db` (deployments). Views never build SQL;
they call their capability's data module, which takes a `Connection` so the CLI and the
tests use it without Flask. SQL is written once, as `text()` with named parameters, in
the subset both engines speak; the few engine-specific statements are chosen with
`is_postgresql(conn)` inside the data modules.

Transactions: every request gets one pooled connection (`get_db()`); reads run in the
transaction SQLAlchemy begins on first use. A unit of work that writes runs in
`write_transaction(conn)`: all or nothing, committed before the request answers; nested
calls become savepoints. On SQLite it starts with BEGIN IMMEDIATE, so a writer takes the
write lock before reading rather than failing when it tries to upgrade a read lock, and
writers wait their turn in `WriterQueue` first (see there why).
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, TextClause, bindparam, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

# How long a writer waits for another's write lock (SQLite) before giving up.
BUSY_TIMEOUT_SECONDS = 5.0
# PostgreSQL: reads outside any transaction, writes in one (see `connect`).
READ_ISOLATION = "AUTOCOMMIT"
WRITE_ISOLATION = "READ COMMITTED"
SNAPSHOT_ISOLATION = "REPEATABLE READ"
# Set on a connection while `write_transaction` holds it.
_WRITING = "credit_self.writing"


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path)}"


def normalised_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (SQLAlchemy's own default is psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine with the settings every connection needs."""
    url = normalised_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # pre_ping: a connection the server or a failover closed is replaced, not handed out.
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # SQLAlchemy's documented recipe: sqlite3 must not issue BEGIN itself (it skips it
    # for SELECT and DDL); the "begin" listener below does, for every transaction.
    dbapi_connection.isolation_level = None
    for pragma in ("foreign_keys = ON", "synchronous = NORMAL", "journal_mode = WAL"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(_WRITING) else "BEGIN")


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


@contextlib.contextmanager
def write_transaction(conn: Connection) -> Iterator[Connection]:
    """Run a unit of work that writes, all or nothing; nested calls are savepoints."""
    if conn.info.get(_WRITING):
        with conn.begin_nested():
            yield conn
        return
    _end_reads(conn)
    with WriterQueue.for_connection(conn).turn():
        conn.info[_WRITING] = True
        try:
            with _transaction(conn, WRITE_ISOLATION):
                yield conn
        finally:
            conn.info.pop(_WRITING, None)


@contextlib.contextmanager
def snapshot(conn: Connection) -> Iterator[Connection]:
    """Reads that must see one consistent state of the database, or stream rows through
    a server-side cursor (which PostgreSQL allows only inside a transaction)."""
    if conn.info.get(_WRITING):
        yield conn
        return
    _end_reads(conn)
    with _transaction(conn, SNAPSHOT_ISOLATION):
        yield conn


def _end_reads(conn: Connection) -> None:
    if conn.in_transaction():
        # Only reads have happened on this connection: end that snapshot, so what
        # follows starts its own transaction (on SQLite, a write takes the lock first).
        conn.commit()


@contextlib.contextmanager
def _transaction(conn: Connection, isolation: str) -> Iterator[None]:
    # A connection reading outside transactions (`connect`) gets a real one for the
    # duration, then goes back to reading.
    reading_mode = conn.get_execution_options().get("isolation_level") == READ_ISOLATION
    if reading_mode:
        conn.execution_options(isolation_level=isolation)
    try:
        with conn.begin():
            yield
    finally:
        if reading_mode:
            conn.execution_options(isolation_level=READ_ISOLATION)


class WriterQueue:
    """Writers to one SQLite file take turns here before BEGIN IMMEDIATE.

    SQLite itself makes a second writer poll: its busy handler sleeps 1, 2, 5 ... up to
    100 ms between tries, so under many concurrent writers some wait hundreds of
    milliseconds for a lock held for one. Here a writer waits on a thread lock (other
    threads of its process) and then on an exclusive `flock` of `<database>-writers`
    (other processes), and each is woken as soon as the previous writer commits.
    PostgreSQL queues writers itself: its queue does nothing.
    """

    def __init__(self, database: str | None) -> None:
        self._path = f"{database}-writers" if database else None
        self._threads = threading.Lock()
        self._file: tuple[int, int] | None = None  # (pid, fd): a forked child reopens it

    @classmethod
    def for_connection(cls, conn: Connection) -> WriterQueue:
        url = conn.engine.url
        on_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        key = os.path.abspath(url.database) if on_file else ""
        with _writer_queues_lock:
            if key not in _writer_queues:
                _writer_queues[key] = cls(key or None)
            return _writer_queues[key]

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        if self._path is None:
            yield
            return
        if not self._threads.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise OperationalError("BEGIN IMMEDIATE", None,
                                   sqlite3.OperationalError("database is locked"))
        try:
            fd = self._fd()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _fd(self) -> int:
        # An flock belongs to an open file, which a forked process shares with its
        # parent: each process opens its own.
        if self._file is None or self._file[0] != os.getpid():
            self._file = (os.getpid(), os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600))
        return self._file[1]


# One queue per database file in this process (threads share it).
_writer_queues: dict[str, WriterQueue] = {}
_writer_queues_lock = threading.Lock()


def in_write_transaction(conn: Connection) -> bool:
    return bool(conn.info.get(_WRITING))


# ------------------------------------------------------------------ small helpers
# Data modules run their SQL through these: named parameters only, rows as plain dicts
# (views add computed fields to them).


def sql(statement: str | TextClause, *expanding: str) -> TextClause:
    """`text(statement)`, with the named parameters that take a list (`IN :codes`)."""
    if isinstance(statement, TextClause):
        return statement
    return _text(statement, expanding)


@functools.lru_cache(maxsize=1024)
def _text(statement: str, expanding: tuple[str, ...]) -> TextClause:
    # The app's statements are a fixed set: each is parsed once, not on every call
    # (SQLAlchemy then finds its compiled form in its own cache).
    clause = text(statement)
    if expanding:
        clause = clause.bindparams(*(bindparam(name, expanding=True) for name in expanding))
    return clause


def rows(conn: Connection, statement: str | TextClause, /, **params: Any) -> list[dict]:
    return [dict(row) for row in conn.execute(sql(statement), params).mappings()]


def first(conn: Connection, statement: str | TextClause, /, **params: Any) -> dict | None:
    row = conn.execute(sql(statement), params).mappings().first()
    return dict(row) if row is not None else None


def scalar(conn: Connection, statement: str | TextClause, /, **params: Any) -> Any:
    return conn.execute(sql(statement), params).scalar()


def execute(conn: Connection, statement: str | TextClause, /, **params: Any):
    """A write (or any statement whose rows are not wanted); returns the result, whose
    `rowcount` tells how many rows an UPDATE or DELETE touched."""
    return conn.execute(sql(statement), params)


def execute_many(conn: Connection, statement: str | TextClause, records: list[dict]) -> None:
    """One statement for many parameter sets (SQLAlchemy batches the INSERTs)."""
    if records:
        conn.execute(sql(statement), records)


def insert(conn: Connection, table: str, record: dict, returning: str | None = None) -> Any:
    """INSERT one row from a dict; the value of `returning` (e.g. the new id) if asked.

    Table and column names come from the calling module, never from input.
    """
    columns = ", ".join(f'"{name}"' for name in record)
    values = ", ".join(f":{name}" for name in record)
    statement = f'INSERT INTO "{table}" ({columns}) VALUES ({values})'
    if returning:
        return scalar(conn, f'{statement} RETURNING "{returning}"', **record)
    execute(conn, statement, **record)
    return None


def insert_many(conn: Connection, table: str, records: list[dict]) -> None:
    """INSERT many rows that share the first row's columns."""
    if records:
        columns = list(records[0])
        names = ", ".join(f'"{name}"' for name in columns)
        values = ", ".join(f":{name}" for name in columns)
        conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({values})'),
                     [{name: record.get(name) for name in columns} for record in records])


# ------------------------------------------------------------------ the app's engine


def engine_for(app: Flask) -> Engine:
    return app.extensions["credit_self.engine"]


def get_db() -> Connection:
    """The request's connection (checked out of the pool on first use)."""
    if "db" not in g:
        g.db = connect(engine_for(current_app))
    return g.db


def connect(engine: Engine) -> Connection:
    """A connection for reads, with `write_transaction` for writes.

    On PostgreSQL reads run without a transaction (each statement sees the latest
    committed data, as it would at READ COMMITTED inside one), which saves the BEGIN
    and ROLLBACK round trips of every page; `write_transaction` opens a real one.
    """
    conn = engine.connect()
    if is_postgresql(conn):
        conn.execution_options(isolation_level=READ_ISOLATION)
    return conn


def close_db(_error: BaseException | None = None) -> None:
    """End of request: the connection goes back to the pool, any open transaction rolled
    back (a write that was acknowledged has been committed by then)."""
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def is_readable(conn: Connection) -> bool:
    """True when the database answers a trivial query."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        conn.execute(text("SELECT 1 FROM residents LIMIT 1")).fetchall()
        return True
    except SQLAlchemyError:
        return False


def init_app(app: Flask) -> None:
    """Create the app's engine and close each request's connection at its end."""
    app.extensions["credit_self.engine"] = make_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(close_db)
