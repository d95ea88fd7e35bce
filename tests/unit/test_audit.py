"""The audit log: rows chain to each other, the database refuses edits, tampering done
around the database's guards is found by the chain, and rewrites the chain alone cannot
see (re-hashed, cut short, renumbered) are found by the signed checkpoints (on both
engines)."""
import base64
import hashlib
import json
import os
import stat
import threading
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.exc import DBAPIError

from credit_self import audit, audit_keys
from credit_self.config import setting
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
        db.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        db.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
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


# ---------------------------------------------------------------- signed checkpoints

COLUMNS = ("seq", "at", "actor", "action", "subject", "detail", "prev_hash")


def _hash(row):
    return hashlib.sha256(json.dumps([row[k] for k in COLUMNS], ensure_ascii=False,
                                     separators=(",", ":")).encode()).hexdigest()


def _links_hold(db):
    """The check the log had before checkpoints: every row links to the one before it
    and matches its hash. A rewrite that passes this fooled the chain alone."""
    prev, expected = audit.GENESIS, 1
    for row in db.query("SELECT * FROM audit_log ORDER BY seq"):
        if row["seq"] != expected or row["prev_hash"] != prev or _hash(row) != row["hash"]:
            return False
        prev, expected = row["hash"], expected + 1
    return True


def _rewrite_from(db, seq, change):
    """Replace rows seq.. by change(those rows), renumbered and re-chained: a rewrite by
    someone with the database who knows how the chain is made."""
    tail = db.query("SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq", [seq])
    prev = db.scalar("SELECT hash FROM audit_log WHERE seq = ?", [seq - 1])
    _tamper(db, "DELETE FROM audit_log WHERE seq >= ?", [seq])
    for number, row in enumerate(change(tail), start=seq):
        row = {**row, "seq": number, "prev_hash": prev}
        row["hash"] = prev = _hash(row)
        db.execute("INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, "
                   "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [row[k] for k in (*COLUMNS, "hash")])


def _append(db, count, action="signed_in"):
    return audit.record_many(db, [audit.Event(f"resident:{n}", action, str(n))
                                  for n in range(count)])


def _verdicts(db):
    """(problem of the incremental check, problem of --full)."""
    return audit.verify(db, full=False).problem, audit.verify(db, full=True).problem


def test_an_append_signs_a_checkpoint_every_thousand_rows(db):
    made = audit.checkpoint(db)
    _append(db, audit.CHECKPOINT_EVERY_ROWS - 1)
    assert audit.newest_checkpoint(db) == made
    seq = audit.record(db, "resident:1", "signed_in", "1")
    newest = audit.newest_checkpoint(db)
    assert newest.id == made.id + 1 and newest.seq == seq == made.seq + audit.CHECKPOINT_EVERY_ROWS
    assert newest.head_hash == db.scalar("SELECT hash FROM audit_log WHERE seq = ?", [seq])


def test_an_append_signs_a_checkpoint_when_the_newest_is_five_minutes_old(app, db):
    start = datetime(2026, 12, 3, 6, 0, tzinfo=timezone.utc)
    with app.app_context():
        app.config["NOW"] = start
        made = audit.checkpoint(db)
        app.config["NOW"] = start + audit.CHECKPOINT_EVERY - timedelta(seconds=1)
        audit.record(db, "resident:1", "signed_in", "1")
        assert audit.newest_checkpoint(db) == made
        app.config["NOW"] = start + audit.CHECKPOINT_EVERY
        seq = audit.record(db, "resident:1", "signed_in", "1")
    newest = audit.newest_checkpoint(db)
    assert (newest.id, newest.seq, newest.created_at) == (made.id + 1, seq, "2026-12-03T06:05:00+00:00")


def test_a_checkpoint_is_signed_over_its_documented_bytes(db):
    made = audit.checkpoint(db)
    message = (f"credit-self-audit-checkpoint/1\n{made.id}\n{made.seq}\n{made.head_hash}\n"
               f"{made.created_at}\n").encode()
    key = audit.public_key()
    key.verify(base64.b64decode(made.signature), message)  # raises if it does not hold
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert made.key_id == hashlib.sha256(raw).hexdigest()[:16]


def test_edited_and_rehashed_rows_behind_a_checkpoint_are_found(db):
    start = _append(db, 20)
    made = audit.checkpoint(db)
    _append(db, 5)

    def edit(rows):
        rows[0]["actor"] = "reviewer:someone-else"
        return rows

    _rewrite_from(db, start - 10, edit)
    assert _links_hold(db)
    assert _verdicts(db) == ("rewritten", "rewritten")
    assert audit.verify(db, full=False).broken_at == made.seq


def test_the_last_rows_deleted_behind_a_checkpoint_are_found(db):
    _append(db, 600)
    made = audit.checkpoint(db)
    _tamper(db, "DELETE FROM audit_log WHERE seq > ?", [made.seq - 500])
    assert _links_hold(db)
    assert _verdicts(db) == ("truncated", "truncated")
    report = audit.verify(db, full=False)
    assert "rows were removed" in report.reason and report.broken_at == made.seq


def test_a_middle_row_deleted_and_the_rest_renumbered_is_found(db):
    start = _append(db, 30)
    audit.checkpoint(db)
    _rewrite_from(db, start - 15, lambda rows: rows[1:])
    assert _links_hold(db)
    assert _verdicts(db) == ("truncated", "truncated")
    # Extended again to the checkpoint's length, the log still differs from what it signed.
    audit.record(db, "resident:1", "signed_in", "1")
    assert _verdicts(db) == ("rewritten", "rewritten")


def test_a_checkpoint_signed_with_another_key_is_forged(db):
    start = _append(db, 10)
    audit.checkpoint(db)
    _rewrite_from(db, start - 5, lambda rows: rows[1:])
    # The attacker signs the rewritten head with a key of their own, under our key's id.
    seq, head = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").one()
    newest = audit.newest_checkpoint(db)
    forged = audit.Checkpoint(newest.id + 1, seq, head, newest.created_at, newest.key_id, "")
    signature = audit_keys.sign(Ed25519PrivateKey.generate(), forged.message())
    db.execute("INSERT INTO audit_checkpoints (id, seq, head_hash, created_at, key_id, signature) "
               "VALUES (?, ?, ?, ?, ?, ?)", [forged.id, seq, head, forged.created_at,
                                             forged.key_id, signature])
    assert _verdicts(db) == ("forged", "forged")
    assert "does not verify" in audit.verify(db, full=False).reason


def test_the_checkpoints_refuse_edits_and_deletes(db):
    audit.checkpoint(db)
    for statement in ("UPDATE audit_checkpoints SET seq = 0", "DELETE FROM audit_checkpoints"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(statement)
        db.rollback()


def test_the_incremental_check_reads_nothing_behind_the_newest_checkpoint(db):
    class Counter:
        rows = 0

        def update(self, steps):
            self.rows += steps

    checked = []
    for behind in (30, 3000):
        _append(db, behind)
        audit.checkpoint(db)
        _append(db, 7)
        counter = Counter()
        report = audit.verify(db, counter, full=False)
        assert report.ok
        checked.append((report.rows_checked, counter.rows))
    assert checked == [(7, 7), (7, 7)]
    # Proof that the rows behind it are not even read: a careless in-place edit there,
    # which --full finds at once, goes unseen by the incremental check.
    _tamper(db, "UPDATE audit_log SET actor = 'nobody' WHERE seq = 2")
    assert _verdicts(db) == (None, "altered")


def test_a_log_without_any_checkpoint_is_unanchored(db):
    _tamper(db, "DELETE FROM audit_log")
    if ON_POSTGRESQL:
        db.execute("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER")
    else:
        db.execute("DROP TRIGGER audit_checkpoints_no_delete")
    db.execute("DELETE FROM audit_checkpoints")
    assert audit.verify(db, full=False).ok and audit.verify(db).ok
    row = {"seq": 1, "at": "2026-12-03T06:00:00+00:00", "actor": "system", "action": "x",
           "subject": None, "detail": None, "prev_hash": audit.GENESIS}
    db.execute("INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, "
               "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [*row.values(), _hash(row)])
    assert _verdicts(db) == ("unanchored", "unanchored")


def test_the_default_key_is_made_once_outside_the_database_and_private(tmp_path):
    key = audit_keys.signing_key(None, tmp_path)
    path = tmp_path / audit_keys.DEFAULT_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    audit_keys.signing_key.cache_clear()  # read the file again: the same key, not a new one
    assert audit_keys.public_pem(audit_keys.signing_key(None, tmp_path).public_key()) == \
        audit_keys.public_pem(key.public_key())


def test_a_named_key_is_never_made_up(tmp_path):
    with pytest.raises(audit_keys.SigningKeyError, match="not a file"):
        audit_keys.signing_key(str(tmp_path / "missing.pem"))
    (tmp_path / "garbage.pem").write_text("not a key")
    with pytest.raises(audit_keys.SigningKeyError, match="not an unencrypted PEM"):
        audit_keys.signing_key(str(tmp_path / "garbage.pem"))
    assert not (tmp_path / "missing.pem").exists()


def test_the_key_can_come_from_a_secrets_file(tmp_path, monkeypatch):
    # CREDIT_SELF_AUDIT_SIGNING_KEY_FILE hands over the PEM itself (container secrets).
    audit_keys.generate(tmp_path / "secret")
    monkeypatch.delenv(audit_keys.SETTING)
    monkeypatch.setenv(f"{audit_keys.SETTING}_FILE", str(tmp_path / "secret"))
    key = audit_keys.signing_key(setting(audit_keys.SETTING))
    assert audit_keys.public_pem(key.public_key()) == audit_keys.public_pem(
        audit_keys.signing_key(str(tmp_path / "secret")).public_key())


def test_the_private_key_never_reaches_the_database(db, audit_signing_key):
    audit.checkpoint(db)
    pem = audit_signing_key.read_text()
    body = "".join(pem.strip().splitlines()[1:-1])
    stored = json.dumps(db.query("SELECT * FROM audit_checkpoints"))
    assert body not in stored and body[:20] not in stored
