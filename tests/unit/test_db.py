"""Write transactions: all or nothing, and a writer waits for another's lock."""
import sqlite3
import threading

import pytest

from credit_self import db as database


@pytest.fixture
def path(tmp_path):
    file = tmp_path / "t.db"
    conn = database.connect(str(file))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (n INTEGER)")
    conn.conn.close()
    return str(file)


def _count(path):
    return database.connect(path).execute("SELECT count(*) FROM t").fetchone()[0]


def test_a_writer_waits_for_the_lock_then_writes(path):
    # The holder commits from a timer thread, so its connection may cross threads.
    holder = database.Database(sqlite3.connect(path, check_same_thread=False))
    waiter = database.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.05, lambda: holder.conn.execute("COMMIT"))
    release.start()  # the waiter must still be waiting then: far less than 5 s
    with database.write_transaction(waiter):
        waiter.execute("INSERT INTO t VALUES (2)")
    release.join()
    assert _count(path) == 2
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == database.BUSY_TIMEOUT_MS


def test_a_writer_gives_up_after_the_timeout_and_changes_nothing(path, monkeypatch):
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 30)
    holder = database.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    waiter = database.connect(path)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        with database.write_transaction(waiter):
            waiter.execute("INSERT INTO t VALUES (2)")
    holder.conn.execute("ROLLBACK")
    assert _count(path) == 0
    assert not waiter.conn.in_transaction


def test_an_error_inside_rolls_everything_back(path):
    db = database.connect(path)
    with pytest.raises(ZeroDivisionError):
        with database.write_transaction(db):
            db.execute("INSERT INTO t VALUES (1)")
            1 / 0
    assert _count(path) == 0


def test_reads_give_the_same_rows_as_sqlite_utils(path):
    db = database.connect(path)
    db.execute("INSERT INTO t VALUES (1), (2)")
    sql = "SELECT n, n AS n, n * 10 AS tens FROM t ORDER BY n"
    assert list(db.query(sql)) == list(database.Database.query(db, sql))
    assert list(db.query("  with x AS (SELECT 5 AS n) SELECT n FROM x")) == [{"n": 5}]


def test_a_write_sent_as_a_read_is_still_refused_and_undone(path):
    db = database.connect(path)
    with pytest.raises(ValueError):
        list(db.query("UPDATE t SET n = 3"))
    with pytest.raises(ValueError):
        db.query("DELETE FROM t")
    assert not db.conn.in_transaction
