"""The audit log: rows chain to each other, the database refuses edits, and tampering
done around the database's guards is found by the chain (on both engines)."""
import hashlib
import json
import threading

import pytest
from sqlalchemy.exc import DBAPIError

from credit_self import audit
from credit_self.db import make_engine
from tests.conftest import ON_POSTGRESQL


def _last(db, count=1):
    return db.query(f"SELECT * FROM audit_log ORDER BY seq DESC LIMIT {count}")[::-1]


def test_rows_chain_to_each_other(db):
    audit.record(db, "resident:1", "signed_in", "1")
    audit.record(db, "reviewer:rev", "record_read", "1", {"why": "correction"})
    first, second = _last(db, 2)
    assert second["prev_hash"] == first["hash"] and second["seq"] == first["seq"] + 1
    report = audit.verify(db)
    assert report.ok and report.rows_checked == second["seq"]


def test_database_refuses_edits_and_deletes(db):
    audit.record(db, "resident:1", "signed_in", "1")
    for statement in ("UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(statement)
        db.rollback()
    assert audit.verify(db).ok


def _tamper(db, sql, params=()):
    """Edit the log the way an attacker with the database would: around the triggers."""
    if ON_POSTGRESQL:
        db.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    else:
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute(sql, params)


def test_an_edited_row_breaks_the_chain_at_that_row(db):
    start = _last(db)[0]["seq"]
    for i in range(5):
        audit.record(db, "resident:1", "signed_in", str(i))
    _tamper(db, "UPDATE audit_log SET actor = 'nobody' WHERE seq = ?", [start + 3])
    report = audit.verify(db)
    assert not report.ok and report.broken_at == start + 3 and report.rows_checked == start + 2


def test_an_edit_that_recomputes_its_own_hash_still_breaks_the_next_link(db):
    start = _last(db)[0]["seq"]
    for i in range(4):
        audit.record(db, "resident:1", "signed_in", str(i))
    row = db.query("SELECT * FROM audit_log WHERE seq = ?", [start + 2])[0]
    row["action"] = "nothing_happened"
    new_hash = hashlib.sha256(json.dumps(
        [row[k] for k in ("seq", "at", "actor", "action", "subject", "detail", "prev_hash")],
        ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
    _tamper(db, "UPDATE audit_log SET action = ?, hash = ? WHERE seq = ?",
            [row["action"], new_hash, start + 2])
    report = audit.verify(db)
    assert not report.ok and report.broken_at == start + 3


def test_a_deleted_row_is_reported(db):
    start = _last(db)[0]["seq"]
    for i in range(4):
        audit.record(db, "resident:1", "signed_in", str(i))
    _tamper(db, "DELETE FROM audit_log WHERE seq = ?", [start + 2])
    report = audit.verify(db)
    assert not report.ok and report.broken_at == start + 3


def test_writers_at_once_extend_one_unbroken_chain(database_url, db):
    """Four connections appending at the same moment queue on the chain's end."""
    engine = make_engine(database_url)
    start = _last(db)[0]["seq"]
    errors = []

    def append(worker: int) -> None:
        try:
            with engine.connect() as conn:
                for n in range(20):
                    audit.record(conn, f"resident:{worker}", "signed_in", str(n))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert not errors
    assert _last(db)[0]["seq"] == start + 80
    assert audit.verify(db).ok
