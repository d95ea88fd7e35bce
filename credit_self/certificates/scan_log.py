"""The holder's scan log: every verification of their certificate, written to the
database in batches. All SQL on certificate_scans is here.

Every verification of a genuine token leaves two rows: one in the holder's scan log and
one audit row ("anonymous verified a certificate"). Written one scan at a time from two
gunicorn workers, those rows cost a verification about a third of its time: each scan
waited for the write lock and committed, and every commit made the other worker's SQLite
connection drop its page cache (WAL mode does that once another connection has written)
and read the database's B-tree pages again.

So a scan is first appended, as one line, to this process's journal file: one write(2),
which the operating system keeps even if the process dies (the same promise as a WAL
commit with synchronous=NORMAL). The journal is folded into the database in one
transaction when an append finds FOLD_EVERY scans in it or its oldest FOLD_AFTER seconds
old, and at exit. Anything that shows scans or audit rows folds every journal first
(`fold_all`), so the holder's scan log, "Who looked" and the audit log viewer are not
behind (unless the write lock stays busy past the busy timeout: then the page shows what
is stored).

Folding is idempotent: each line carries a unique reference, kept in
certificate_scans.ref under a UNIQUE index, and only newly stored scans get their audit
row. A journal folded twice (the process died between the commit and the truncation)
adds nothing the second time. An flock on the journal file keeps an append from landing
between a fold's read and its truncation.
"""
from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from sqlite_utils import Database

from .. import audit
from ..db import connect, write_transaction

FOLD_EVERY = 64
FOLD_AFTER = 2.0  # seconds

log = logging.getLogger(__name__)


def directory_for(database_path: str | os.PathLike) -> Path:
    """Journals live beside the database file they belong to (symbolic links resolved,
    as SQLite reports the file to readers)."""
    path = Path(os.path.realpath(database_path))
    return path.with_name(path.name + ".scan-journal")


def _database_path(db: Database) -> str:
    return db.execute("PRAGMA database_list").fetchone()[2]


class Journal:
    """This process's journal file in one directory."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.pid = os.getpid()
        self.name = f"{self.pid}-{secrets.token_hex(4)}"
        self.path = directory / f"{self.name}.jsonl"
        self.fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.lock = threading.Lock()
        self.written = 0
        self.unfolded = 0
        self.oldest_unfolded: float | None = None

    def append(self, scan: dict) -> bool:
        """Keep one scan; True when this journal is due to be folded."""
        # Threads of one process share this file descriptor, and an flock does not
        # exclude holders of the same descriptor: the thread lock keeps each reference
        # unique and each line whole; the flock keeps other descriptors (folds) out.
        with self.lock:
            if self.fd is None:
                raise OSError(f"scan journal {self.path} is closed")
            self.written += 1
            data = (_LINE.encode({**scan, "ref": f"{self.name}:{self.written}"}) + "\n").encode()
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            try:
                written = os.write(self.fd, data)
                if written != len(data):
                    # Disk full or a size limit: take the partial line back, so the next
                    # line does not land on it, and let the caller store the scan itself.
                    os.ftruncate(self.fd, os.fstat(self.fd).st_size - written)
                    raise OSError(f"scan journal {self.path}: short write")
            finally:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.unfolded += 1
            now = time.monotonic()
            if self.oldest_unfolded is None:
                self.oldest_unfolded = now
            return self.unfolded >= FOLD_EVERY or now - self.oldest_unfolded >= FOLD_AFTER

    def folded(self) -> None:
        self.unfolded = 0
        self.oldest_unfolded = None

    def close(self, database_path: str) -> None:
        """Fold what is left and remove the file (at exit; best effort: a journal left
        behind is folded by the next reader)."""
        if self.pid != os.getpid():  # a forked child's inherited atexit
            return
        with self.lock:  # no append half done; later ones store their scan directly
            if self.fd is None:
                return
            if _journals.get(database_path) is self:
                del _journals[database_path]
            try:
                if self.path.exists() and Path(database_path).exists():
                    db = connect(database_path)
                    try:
                        _fold_file(db, self.path, remove=True)
                    finally:
                        db.close()
            except (OSError, sqlite3.Error):
                log.exception("scan journal %s left for the next reader to fold", self.path)
            finally:
                os.close(self.fd)
                self.fd = None


# One compact line per scan (a module-level encoder: json.dumps with options builds
# a new one on every call).
_LINE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

_journals: dict[str, Journal] = {}
# A forked child (gunicorn workers fork from the master) starts its own journals.
os.register_at_fork(after_in_child=_journals.clear)


_journals_lock = threading.Lock()


def _journal(database_path: str) -> Journal:
    journal = _journals.get(database_path)
    if journal is None:
        with _journals_lock:  # threaded servers: one journal per process and database
            journal = _journals.get(database_path)
            if journal is None:
                journal = _journals[database_path] = Journal(directory_for(database_path))
                atexit.register(journal.close, database_path)
    return journal


def record(db: Database, database_path: str, certificate_id: str, id_number: str, at: str,
           outcome: str, browser_family: str) -> None:
    """Log one scan of a genuine token naming a known certificate."""
    scan = {"certificate_id": certificate_id, "id_number": id_number, "at": at,
            "outcome": outcome, "browser_family": browser_family}
    try:
        journal = _journal(database_path)
        due = journal.append(scan)
    except OSError:
        # No journal (the directory cannot be written): store the scan at once instead.
        log.exception("scan journal unavailable; writing the scan directly")
        with write_transaction(db):
            _store(db, [{**scan, "ref": None}])
        return
    if due and not db.conn.in_transaction:  # (a caller's rollback would undo the fold)
        try:
            _fold_file(db, journal.path)
            journal.folded()
        except (OSError, sqlite3.Error):  # kept in the journal; the verdict stands
            log.exception("scan journal %s not folded; will retry", journal.path)


def fold_all(db: Database) -> int:
    """Fold every journal of this database (any process's); the number of scans stored.

    Skipped inside a caller's transaction: a journal is truncated once its scans are
    committed, which a caller's later rollback would undo.
    """
    if db.conn.in_transaction:
        return 0
    directory = directory_for(_database_path(db))
    try:
        paths = sorted(directory.glob("*.jsonl"))
    except OSError:
        return 0
    stored = 0
    for path in paths:
        try:
            stored += _fold_file(db, path)
        except FileNotFoundError:  # removed by its process at exit meanwhile
            continue
        except sqlite3.OperationalError:
            # The write lock stayed busy past busy_timeout (a long import): show what is
            # stored rather than fail the page; the scans stay in the journal.
            log.warning("scan journal %s not folded: database busy", path, exc_info=True)
    for journal in list(_journals.values()):
        if journal.path.parent == directory:
            journal.folded()
    return stored


def _fold_file(db: Database, path: Path, remove: bool = False) -> int:
    with open(path, "r+b") as journal:
        fcntl.flock(journal, fcntl.LOCK_EX)
        content = journal.read()
        scans = _parse(path, content)
        stored = 0
        if scans:
            with write_transaction(db):
                stored = _store(db, scans)
        if content:
            journal.truncate(0)
        if remove:
            path.unlink()
        return stored


def _parse(path: Path, content: bytes) -> list[dict]:
    lines = content.split(b"\n")
    if lines[-1]:
        # Every append writes a whole line under the lock; a partial one means its
        # process died inside write(2), before the verifier got an answer.
        log.error("scan journal %s: dropped an incomplete last line", path)
    scans = []
    for line in lines[:-1]:
        try:
            scans.append(json.loads(line))
        except ValueError:
            log.error("scan journal %s: dropped an unreadable line %r", path, line[:200])
    return scans


def _store(db: Database, scans: list[dict]) -> int:
    """Scan-log rows and their audit rows, in the caller's transaction; scans already
    stored (same ref) are skipped. Returns how many were new."""
    new, seen = [], _stored_refs(db, [scan["ref"] for scan in scans if scan["ref"]])
    for scan in scans:
        if scan["ref"] is None or scan["ref"] not in seen:
            new.append(scan)
            seen.add(scan["ref"])
    db.conn.executemany(_INSERT_SCAN, new)
    # A verification reads the holder's restrictions, so it is also an audited read of
    # their record (shown in their "Who looked"), stamped with the time of the scan.
    audit.record_many(db, [
        audit.Event("anonymous", "certificate_verified", scan["id_number"],
                    {"certificate_id": scan["certificate_id"], "outcome": scan["outcome"]},
                    at=scan["at"])
        for scan in new
    ])
    return len(new)


def _stored_refs(db: Database, refs: list[str]) -> set[str]:
    stored: set[str] = set()
    for start in range(0, len(refs), 500):
        chunk = refs[start:start + 500]
        marks = ",".join("?" * len(chunk))
        stored.update(row[0] for row in db.execute(
            f"SELECT ref FROM certificate_scans WHERE ref IN ({marks})", chunk))
    return stored


_INSERT_SCAN = """INSERT INTO certificate_scans (certificate_id, at, verdict, browser_family, ref)
VALUES (:certificate_id, :at, :outcome, :browser_family, :ref)"""


def store_scan(db: Database, certificate_id: str, at: str, outcome: str,
               browser_family: str) -> None:
    """Store one scan as it is, with no audit row (the personas' demo scans)."""
    db.execute(_INSERT_SCAN, {"certificate_id": certificate_id, "at": at, "outcome": outcome,
                              "browser_family": browser_family, "ref": None})


SHOWN = 50


def scans_for(db: Database, certificate_id: str, limit: int = SHOWN) -> list[dict]:
    """The latest scans of one certificate, newest first (a much-scanned certificate
    would otherwise make an endless page; the data export has every row)."""
    fold_all(db)
    return _latest(db, certificate_id, limit)


def history(db: Database, certificate_id: str) -> tuple[list[dict], int]:
    """The latest scans and how many there are in all, journals folded once."""
    fold_all(db)
    total = db.execute(
        "SELECT COUNT(*) FROM certificate_scans WHERE certificate_id = ?", [certificate_id]
    ).fetchone()[0]
    return _latest(db, certificate_id, SHOWN), total


def _latest(db: Database, certificate_id: str, limit: int) -> list[dict]:
    return list(
        db.query(
            """SELECT at, verdict, browser_family FROM certificate_scans
               WHERE certificate_id = ? ORDER BY at DESC, id DESC LIMIT ?""",
            [certificate_id, limit],
        )
    )
