import hashlib
import json
import sqlite3

import pytest

from credit_self import audit
from credit_self.db import connect, migrate


@pytest.fixture
def db(tmp_path):
    database = connect(str(tmp_path / "audit.db"))
    migrate(database)
    yield database
    database.close()


def test_rows_chain_to_each_other(db):
    audit.record(db, "resident:1", "signed_in", "1")
    audit.record(db, "admin:rev", "record_read", "1", {"why": "correction"})
    rows = list(db.query("SELECT * FROM audit_log ORDER BY seq"))
    assert rows[0]["prev_hash"] == audit.GENESIS
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    report = audit.verify(db)
    assert report.ok and report.rows_checked == 2


def test_database_refuses_edits_and_deletes(db):
    audit.record(db, "resident:1", "signed_in", "1")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE audit_log SET actor = 'someone-else'")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM audit_log")


def _tamper(db, sql, params=()):
    """Edit the log the way an attacker with the file would: around the triggers."""
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("DROP TRIGGER audit_log_no_delete")
    db.execute(sql, params)


def test_an_edited_row_breaks_the_chain_at_that_row(db):
    for i in range(5):
        audit.record(db, "resident:1", "signed_in", str(i))
    _tamper(db, "UPDATE audit_log SET actor = 'nobody' WHERE seq = 3")
    report = audit.verify(db)
    assert not report.ok and report.broken_at == 3 and report.rows_checked == 2


def test_an_edit_that_recomputes_its_own_hash_still_breaks_the_next_link(db):
    for i in range(4):
        audit.record(db, "resident:1", "signed_in", str(i))
    row = list(db.query("SELECT * FROM audit_log WHERE seq = 2"))[0]
    row["action"] = "nothing_happened"
    new_hash = audit._row_hash(row)
    _tamper(db, "UPDATE audit_log SET action = ?, hash = ? WHERE seq = 2", [row["action"], new_hash])
    report = audit.verify(db)
    assert not report.ok and report.broken_at == 3


def test_a_deleted_row_is_reported(db):
    for i in range(4):
        audit.record(db, "resident:1", "signed_in", str(i))
    _tamper(db, "DELETE FROM audit_log WHERE seq = 2")
    report = audit.verify(db)
    assert not report.ok and report.broken_at == 3


def test_rows_hash_exactly_as_json_dumps_did():
    """Chains written before the encoders were kept must still verify."""
    row = {"seq": 7, "at": "2026-11-22T08:00:00+00:00", "actor": "anonymous",
           "action": "certificate_verified", "subject": "31010419900315902X",
           "detail": json.dumps({"外": "陈静", "n": 1.5, "z": None, "a": [1, "二"]},
                                ensure_ascii=False, sort_keys=True),
           "prev_hash": audit.GENESIS}
    canonical = json.dumps([row[k] for k in ("seq", "at", "actor", "action", "subject",
                                             "detail", "prev_hash")],
                           ensure_ascii=False, separators=(",", ":"))
    assert audit._row_hash(row) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    detail = {"外": "陈静", "n": 1.5, "z": None, "a": [1, "二"]}
    assert audit._DETAIL.encode(detail) == json.dumps(detail, ensure_ascii=False, sort_keys=True)
