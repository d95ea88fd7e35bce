"""Append-only, hash-chained audit log.

Each row stores the SHA-256 of its own content plus the previous row's hash, so editing,
deleting or reordering any row breaks the chain from that row on. Triggers in the schema
refuse UPDATE and DELETE; the chain catches tampering done around them.

Logged: sign-ins and failed sign-ins, activations, every write, and every read of a
resident's record by anyone other than that resident (including refused attempts).
"""
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import click
from flask import Flask
from sqlite_utils import Database

from . import clock
from .db import write_transaction

GENESIS = "0" * 64

# The exact encoders json.dumps(..., ensure_ascii=False, separators=(",", ":")) and
# json.dumps(..., ensure_ascii=False, sort_keys=True) build on every call; kept, since
# every write and every certificate scan appends a row.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_DETAIL = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


def _row_hash(row: dict[str, Any]) -> str:
    canonical = _CANONICAL.encode(
        [
            row["seq"],
            row["at"],
            row["actor"],
            row["action"],
            row["subject"],
            row["detail"],
            row["prev_hash"],
        ]
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    db: Database,
    actor: str,
    action: str,
    subject: str | None = None,
    detail: dict[str, Any] | str | None = None,
) -> int:
    """Append one event; return its sequence number.

    `actor` is who acted ("resident:<id>", "admin:<login>", "anonymous", "system"),
    `subject` whose record it concerns (an ID number) when there is one.
    """
    event = Event(actor, action, subject, detail)
    if db.conn.in_transaction:  # part of the caller's unit of work: one commit for both
        return _append_rows(db, [event])
    with write_transaction(db):
        return _append_rows(db, [event])


@dataclass(frozen=True)
class Event:
    """One audit event for `record_many`; `at` defaults to now."""

    actor: str
    action: str
    subject: str | None = None
    detail: dict[str, Any] | str | None = None
    at: str | None = None


def record_many(db: Database, events: list[Event]) -> None:
    """Append several events in order, chained, in the caller's write transaction
    (batched certificate scans: one look-up of the chain's end for the whole batch)."""
    if events:
        _append_rows(db, events)


def _append_rows(db: Database, events: list[Event]) -> int:
    last = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = last if last else (0, GENESIS)
    rows = []
    for event in events:
        detail = event.detail
        if isinstance(detail, dict):
            detail = _DETAIL.encode(detail)
        seq += 1
        row = {
            "seq": seq,
            "at": event.at or clock.iso_now(),
            "actor": event.actor,
            "action": event.action,
            "subject": event.subject,
            "detail": detail,
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = _row_hash(row)
        rows.append(row)
    db.conn.executemany(
        """INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash)
           VALUES (:seq, :at, :actor, :action, :subject, :detail, :prev_hash, :hash)""",
        rows,
    )
    return seq


@dataclass
class ChainReport:
    rows_checked: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(db: Database) -> ChainReport:
    """Walk the chain in order and report the first row that does not fit."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for row in db.query("SELECT * FROM audit_log ORDER BY seq"):
        if row["seq"] != expected_seq:
            return ChainReport(checked, row["seq"], f"row {expected_seq} is missing")
        if row["prev_hash"] != expected_prev:
            return ChainReport(
                checked, row["seq"], "does not link to the row before it"
            )
        if _row_hash(row) != row["hash"]:
            return ChainReport(checked, row["seq"], "content does not match its hash")
        expected_prev = row["hash"]
        expected_seq += 1
        checked += 1
    return ChainReport(checked)


@click.command("verify-audit")
def verify_audit_command() -> None:
    """Check the audit log's hash chain; exit 1 at the first broken link."""
    from .db import get_db

    report = verify(get_db())
    if report.ok:
        click.echo(f"ok ({report.rows_checked} rows)")
        return
    click.echo(
        f"broken at row {report.broken_at}: {report.reason} "
        f"({report.rows_checked} rows before it verify)",
        err=True,
    )
    raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(verify_audit_command)
