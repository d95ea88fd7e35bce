"""Database access: one sqlite-utils Database per request, and write transactions.

Views never build SQL; they call the data modules of their capability, which take a
`Database` argument so they can be used from the CLI and tests without Flask.
"""
import contextlib
import sqlite3
import threading
from collections import OrderedDict
from typing import Iterator

import click
from flask import Flask, current_app, g
from sqlite_utils import Database

from .migrations import migrations as core_migrations

# Capabilities that own tables keep their migrations in `<package>/schema.py` as a
# Migrations set of their own, applied after the core set in this order.
CAPABILITY_SCHEMAS = ("pilots", "corrections", "certificates", "transparency")


def connect(path: str) -> Database:
    """Open a database with the PRAGMAs every connection needs."""
    db = Database(path)
    # Wait for a busy writer instead of failing at once: gunicorn runs several workers.
    db.execute("PRAGMA busy_timeout = 5000")
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
    if "db" not in g:
        g.db = _cached_connection(current_app.config["DATABASE"])
    return g.db


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
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


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
