"""Write transactions on both engines: all or nothing, savepoints when nested, and on
SQLite a writer that waits for another's write lock instead of failing."""
import threading

import pytest

from credit_self import audit
from credit_self.db import make_engine, write_transaction


def _holidays(db) -> int:
    return db.scalar("SELECT count(*) FROM holidays")


def test_an_error_inside_rolls_everything_back(db):
    before = _holidays(db)
    with pytest.raises(ZeroDivisionError):
        with write_transaction(db):
            db.execute("INSERT INTO holidays (day, kind) VALUES ('2031-01-01', 'holiday')")
            1 / 0
    assert _holidays(db) == before


def test_a_nested_unit_rolls_back_alone(db):
    before = _holidays(db)
    with write_transaction(db):
        db.execute("INSERT INTO holidays (day, kind) VALUES ('2031-01-01', 'holiday')")
        with pytest.raises(ZeroDivisionError):
            with write_transaction(db):
                db.execute("INSERT INTO holidays (day, kind) VALUES ('2031-01-02', 'holiday')")
                1 / 0
    assert _holidays(db) == before + 1


def test_a_writer_waits_for_another_writers_lock_then_writes(database_url, db):
    """SQLite: BEGIN IMMEDIATE waits on busy_timeout; PostgreSQL: the audit chain's
    lock. Either way the second writer neither fails nor breaks the chain."""
    engine = make_engine(database_url)
    locked, release = threading.Event(), threading.Event()
    start = db.scalar("SELECT max(seq) FROM audit_log")

    def hold_the_lock() -> None:
        with engine.connect() as holder, write_transaction(holder):
            audit.record(holder, "resident:1", "first", None)
            locked.set()
            release.wait(5)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    locked.wait(5)
    threading.Timer(0.3, release.set).start()  # far less than the 5 s a writer may wait
    with engine.connect() as waiter:
        audit.record(waiter, "resident:2", "second", None)
    holder.join()
    engine.dispose()
    actions = [row["action"] for row in db.query("SELECT action FROM audit_log WHERE seq > ? "
                                                "ORDER BY seq", [start])]
    assert actions == ["first", "second"]
    assert audit.verify(db).ok
