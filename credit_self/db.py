"""Database access: one sqlite-utils Database per request, and write transactions.

Views never build SQL; they call the data modules of their capability, which take a
`Database` argument so they can be used from the CLI and tests without Flask.
"""
import contextlib
import sqlite3
import threading
import time
from collections import OrderedDict
from typing import Iterator

import click
from flask import Flask, current_app, g
from flask.globals import _cv_app
from sqlite_utils import Database
from sqlite_utils.utils import dedupe_keys

from .migrations import migrations as core_migrations

# Capabilities that own tables keep their migrations in `<package>/schema.py` as a
# Migrations set of their own, applied after the core set in this order.
CAPABILITY_SCHEMAS = ("pilots", "corrections", "certificates", "transparency")


# How long a writer waits for another's write lock before giving up.
BUSY_TIMEOUT_MS = 5000


class AppDatabase(Database):
    """sqlite-utils' Database, with plain reads.

    sqlite-utils wraps every `query()` in SAVEPOINT ... RELEASE so that a statement
    which turns out to return no rows can be rolled back; that is two more statements
    (and a transaction) per read, about a third of the statements on a page. All of
    this app's queries live in its data modules and read: a SELECT (or WITH) runs
    plainly, anything else keeps sqlite-utils' guard. Rows are the same dicts, with
    duplicate column names renamed the same way.
    """

    def query(self, sql: str, params=None):  # type: ignore[override]
        first_word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if first_word not in ("SELECT", "WITH") or self._tracer:
            return super().query(sql, params)
        cursor = self.conn.execute(sql, params if params is not None else ())
        keys = dedupe_keys(column[0] for column in cursor.description)
        return (dict(zip(keys, row)) for row in cursor)


def connect(path: str) -> Database:
    """Open a database with the PRAGMAs every connection needs."""
    db = AppDatabase(path)
    # Wait for a busy writer instead of failing at once: gunicorn runs several workers.
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    return db


# Opening a connection and setting its PRAGMAs costs more than the queries of a
# typical page (measured: ~12% of /me), so each thread keeps its connections open
# between requests. SQLite connections must stay on the thread that made them.
_thread_connections = threading.local()
_MAX_CONNECTIONS_PER_THREAD = 4


def _cached_connection(path: str) -> Database:
    cache: OrderedDict[str, Database] | None = getattr(_thread_connections, "cache", None)
    if cache is None:
        cache = _thread_connections.cache = OrderedDict()
    db = cache.get(path)
    if db is None:
        db = cache[path] = connect(path)
        while len(cache) > _MAX_CONNECTIONS_PER_THREAD:
            cache.popitem(last=False)[1].close()
    cache.move_to_end(path)
    return db


def get_db() -> Database:
    """The request's database handle (this thread's open connection)."""
    # The app context straight from its context variable: a page asks for the database
    # a dozen times, and `g` and `current_app` are proxies looked up on each use.
    context = _cv_app.get(None)
    if context is None:
        raise RuntimeError("get_db() needs an application context")
    db = context.g.get("db")
    if db is None:
        db = context.g.db = _cached_connection(context.app.config["DATABASE"])
    return db


def close_db(_error: BaseException | None = None) -> None:
    """End of request: never leave a transaction open on a kept connection."""
    db = g.pop("db", None)
    if db is not None and db.conn.in_transaction:
        db.conn.execute("ROLLBACK")


def forget_connections() -> None:
    """Close this thread's kept connections (tests that delete database files)."""
    cache = getattr(_thread_connections, "cache", None)
    while cache:
        cache.popitem()[1].close()


@contextlib.contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """Run a unit of work that writes, all or nothing.

    sqlite-utils' `atomic()` opens a deferred transaction. When two gunicorn workers
    both read and then write inside one, SQLite cannot upgrade the second one's lock and
    fails with SQLITE_BUSY at once, ignoring busy_timeout. Taking the write lock up front
    (BEGIN IMMEDIATE) makes the second writer wait instead. Nested calls become
    savepoints through `atomic()`.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    _begin_immediate(db.conn)
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


# First waits for the write lock, in seconds: doubling from 50 µs up to 2 ms.
_FIRST_WAIT, _LONGEST_WAIT = 0.00005, 0.002


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """Take the write lock, waiting as long as busy_timeout allows, in short steps.

    SQLite's own busy handler sleeps 1 ms, then 2, 5, 10 ms... between tries, yet a
    write transaction here holds the lock for about 0.1 ms: with two workers writing
    (a certificate scan writes its scan-log and audit rows), every clash idled a worker
    for a millisecond or more. Waiting in steps from 50 µs keeps both busy.
    """
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        wait = _FIRST_WAIT
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                # The extended code (e.g. SQLITE_BUSY_RECOVERY) in its low byte is BUSY.
                busy = error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(wait)
            wait = min(wait * 2, _LONGEST_WAIT)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def migrate(db: Database) -> None:
    """Bring the schema up to date (safe to run repeatedly)."""
    import importlib

    core_migrations.apply(db)
    for capability in CAPABILITY_SCHEMAS:
        try:
            schema = importlib.import_module(f"credit_self.{capability}.schema")
        except ModuleNotFoundError as missing:
            if missing.name not in (f"credit_self.{capability}", f"credit_self.{capability}.schema"):
                raise
            continue
        schema.migrations.apply(db)


def is_readable(db: Database) -> bool:
    """True when the database answers a trivial query."""
    try:
        db.execute("SELECT 1 FROM residents LIMIT 1").fetchall()
        return True
    except sqlite3.Error:
        return False


@click.command("init-db")
def init_db_command() -> None:
    """Create or upgrade the schema of the configured database."""
    migrate(get_db())
    click.echo(f"Schema up to date in {current_app.config['DATABASE']}")


def init_app(app: Flask) -> None:
    """Wire the database module into the app: teardown, CLI, schema."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
