"""Certificate scans go to a per-process journal first and reach the database in
batches (certificates/scan_log.py): nothing is lost, nothing is stored twice, and every
page that shows scans or audit rows is up to date."""
import os
from datetime import datetime, timezone

import pytest

from credit_self import audit
from credit_self.certificates import scan_log, store, tokens
from credit_self.db import connect
from credit_self.transparency import data as transparency
from tests.conftest import make_test_app, persona

T0 = datetime(2026, 3, 10, 2, 0, 0, tzinfo=timezone.utc)
CLEAN = persona("clean")["id_number"]


@pytest.fixture
def app(db_path, monkeypatch):
    # Fold on demand only, unless a test says otherwise: no batch is due by size or age.
    monkeypatch.setattr(scan_log, "FOLD_EVERY", 1000)
    monkeypatch.setattr(scan_log, "FOLD_AFTER", 3600.0)
    return make_test_app(db_path, NOW=T0)


@pytest.fixture
def db(app):
    database = connect(app.config["DATABASE"])
    yield database
    database.close()


@pytest.fixture
def certificate(db):
    return store.create(db, CLEAN, "rental", None, T0, 3)


def scan(client, app, certificate):
    token = tokens.make_token([app.config["SECRET_KEY"]], certificate["id"], tokens.SCREEN, T0)
    assert client.get(f"/api/v1/verify/{token}").json["verdict"] == "valid"


def stored_scans(db, certificate) -> int:
    return db.execute("SELECT COUNT(*) FROM certificate_scans WHERE certificate_id = ?",
                      [certificate["id"]]).fetchone()[0]


def verified_audit_rows(db) -> list[dict]:
    return list(db.query(
        "SELECT at, subject, detail FROM audit_log WHERE action = 'certificate_verified'"))


def journal_lines(app) -> int:
    directory = scan_log.directory_for(app.config["DATABASE"])
    return sum(path.read_bytes().count(b"\n") for path in directory.glob("*.jsonl"))


def test_a_scan_waits_in_the_journal_and_every_reader_sees_it(app, client, db, certificate):
    for _ in range(3):
        scan(client, app, certificate)
    assert stored_scans(db, certificate) == 0 and journal_lines(app) == 3
    # The holder's scan log folds the journal before reading: all three, once each.
    assert [s["verdict"] for s in scan_log.scans_for(db, certificate["id"])] == ["valid"] * 3
    assert stored_scans(db, certificate) == 3 and journal_lines(app) == 0
    # Each scan is also an audited read of the holder's record, at the time of the scan.
    rows = verified_audit_rows(db)
    assert [(r["at"], r["subject"]) for r in rows] == [(T0.isoformat(), CLEAN)] * 3
    assert audit.verify(db).ok


@pytest.mark.parametrize("reader", [
    lambda db, c: transparency.access_log(db, CLEAN)[0],
    lambda db, c: transparency.audit_page(db, action="certificate_verified")[0],
    lambda db, c: [row for row in transparency.export_data(db, CLEAN, T0.isoformat())
                   ["tables"]["certificate_scans"] if row["certificate_id"] == c["id"]],
    lambda db, c: [row for row in store.certificates_for(db, CLEAN)
                   if row["id"] == c["id"] and row["scan_count"] == 1],
])
def test_who_looked_the_audit_log_the_export_and_the_list_are_never_behind(
        app, client, db, certificate, reader):
    scan(client, app, certificate)
    assert len(reader(db, certificate)) == 1


def test_a_journal_is_folded_once_it_holds_a_batch(app, client, db, certificate, monkeypatch):
    monkeypatch.setattr(scan_log, "FOLD_EVERY", 3)
    scan(client, app, certificate)
    scan(client, app, certificate)
    assert stored_scans(db, certificate) == 0
    scan(client, app, certificate)  # the third scan's request folds the batch
    assert stored_scans(db, certificate) == 3 and journal_lines(app) == 0


def test_a_journal_is_folded_once_its_oldest_scan_is_old_enough(app, client, db, certificate,
                                                                 monkeypatch):
    monkeypatch.setattr(scan_log, "FOLD_AFTER", 0.0)
    scan(client, app, certificate)
    assert stored_scans(db, certificate) == 1


def test_folding_the_same_journal_twice_stores_nothing_twice(app, client, db, certificate):
    """A process that dies between committing a batch and emptying its journal."""
    scan(client, app, certificate)
    scan(client, app, certificate)
    [journal] = scan_log.directory_for(app.config["DATABASE"]).glob("*.jsonl")
    content = journal.read_bytes()
    scan_log.fold_all(db)
    journal.write_bytes(content)  # as if the truncation never happened
    scan_log.fold_all(db)
    assert stored_scans(db, certificate) == 2 and len(verified_audit_rows(db)) == 2
    assert audit.verify(db).ok


def test_a_journal_left_by_another_process_is_folded_and_a_torn_line_dropped(app, db,
                                                                             certificate):
    directory = scan_log.directory_for(app.config["DATABASE"])
    directory.mkdir(exist_ok=True)
    (directory / "99999-deadbeef.jsonl").write_text(
        '{"certificate_id":"%s","id_number":"%s","at":"2026-03-10T02:00:01+00:00",'
        '"outcome":"revoked","browser_family":"Safari","ref":"99999-deadbeef:1"}\n'
        '{"certificate_id":"%s","id_nu' % (certificate["id"], CLEAN, certificate["id"]))
    assert [(s["verdict"], s["browser_family"]) for s in scan_log.scans_for(db, certificate["id"])] \
        == [("revoked", "Safari")]
    assert (directory / "99999-deadbeef.jsonl").read_bytes() == b""


def test_without_a_journal_a_scan_is_stored_at_once(app, client, db, certificate):
    # The journal directory cannot be made (a file is in its way).
    scan_log.directory_for(app.config["DATABASE"]).write_text("not a directory")
    scan(client, app, certificate)
    assert stored_scans(db, certificate) == 1 and len(verified_audit_rows(db)) == 1


def test_a_worker_folds_its_journal_and_removes_it_when_it_exits(app, client, db, certificate):
    scan(client, app, certificate)
    journal = scan_log._journals[app.config["DATABASE"]]
    assert journal.pid == os.getpid()
    journal.close(app.config["DATABASE"])
    assert stored_scans(db, certificate) == 1 and not journal.path.exists()
    # A request thread still running during shutdown stores its scan itself.
    with pytest.raises(OSError):
        journal.append({"certificate_id": certificate["id"]})


def test_a_forked_worker_keeps_its_own_journal(app, client, db, certificate):
    """gunicorn forks its workers: a child never appends to, folds away or removes the
    journal it inherited from its parent."""
    scan(client, app, certificate)
    inherited = scan_log._journals[app.config["DATABASE"]]
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        ok = scan_log._journals == {}
        inherited.close(app.config["DATABASE"])  # as the child's inherited atexit would
        os._exit(0 if ok and inherited.path.exists() else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert inherited.path.exists() and journal_lines(app) == 1


def test_threads_of_one_process_lose_no_scan(app, db, certificate, monkeypatch):
    """A threaded server (flask run, gthread workers): threads share one journal."""
    import threading

    monkeypatch.setattr(scan_log, "FOLD_EVERY", 16)  # folds run while others append
    path = app.config["DATABASE"]

    def scans():
        own = connect(path)
        try:
            for _ in range(40):
                scan_log.record(own, path, certificate["id"], CLEAN, T0.isoformat(), "valid",
                                "Other")
        finally:
            own.close()

    threads = [threading.Thread(target=scans) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    scan_log.fold_all(db)
    assert stored_scans(db, certificate) == 240 and len(verified_audit_rows(db)) == 240
    assert audit.verify(db).ok


def test_a_database_reached_through_a_symbolic_link_shares_its_journal(db_path, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(scan_log, "FOLD_EVERY", 1000)
    monkeypatch.setattr(scan_log, "FOLD_AFTER", 3600.0)
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "linked.db"
    link.symlink_to(db_path)
    app = make_test_app(link, NOW=T0)
    database = connect(str(link))
    try:
        certificate = store.create(database, CLEAN, "rental", None, T0, 3)
        scan(app.test_client(), app, certificate)
        assert stored_scans(database, certificate) == 0  # in the journal
        # Readers find it whichever path they opened the database by.
        assert len(scan_log.scans_for(database, certificate["id"])) == 1
    finally:
        database.close()


def test_a_short_write_is_taken_back_and_the_scan_stored_directly(app, client, db,
                                                                  certificate, monkeypatch):
    """Disk full or a file-size limit: write(2) keeps only part of the line."""
    scan(client, app, certificate)

    class ShortWrites:
        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def write(fd, data):
            return os.write(fd, data[:20])

    monkeypatch.setattr(scan_log, "os", ShortWrites())
    scan(client, app, certificate)  # stored at once instead
    monkeypatch.undo()
    monkeypatch.setattr(scan_log, "FOLD_EVERY", 1000)
    monkeypatch.setattr(scan_log, "FOLD_AFTER", 3600.0)
    scan(client, app, certificate)  # journaled again, on a whole line
    assert journal_lines(app) == 2
    assert len(scan_log.scans_for(db, certificate["id"])) == 3
    assert len(verified_audit_rows(db)) == 3
