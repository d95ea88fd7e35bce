"""Append-only, hash-chained audit log.

Each row stores the SHA-256 of its own content plus the previous row's hash, so editing,
deleting or reordering any row breaks the chain from that row on. Triggers refuse UPDATE
and DELETE on both engines; the chain catches tampering done around them.

Logged: sign-ins and failed sign-ins, activations, every write, and every read of a
resident's record by anyone other than that resident (including refused attempts).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

import click
from flask import Flask
from sqlalchemy import Connection

from . import clock
from .progress import progress
from .db import (
    first,
    in_write_transaction,
    insert_many,
    is_postgresql,
    scalar,
    snapshot,
    sql,
    write_transaction,
)

GENESIS = "0" * 64
# Any constant: the PostgreSQL advisory lock that orders appends to the chain.
_CHAIN_LOCK = 0x41554449  # "AUDI"


def _row_hash(row: dict[str, Any]) -> str:
    canonical = json.dumps(
        [row["seq"], row["at"], row["actor"], row["action"], row["subject"], row["detail"],
         row["prev_hash"]],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Event:
    """One audit event; `at` defaults to now."""

    actor: str
    action: str
    subject: str | None = None
    detail: dict[str, Any] | str | None = None
    at: str | None = None


def record(conn: Connection, actor: str, action: str, subject: str | None = None,
           detail: dict[str, Any] | str | None = None) -> int:
    """Append one event (in the caller's write transaction, or in its own); return its
    sequence number.

    `actor` is who acted ("resident:<id>", "reviewer:<login>", "anonymous", "system"),
    `subject` whose record it concerns (an ID number) when there is one.
    """
    return record_many(conn, [Event(actor, action, subject, detail)])


def record_many(conn: Connection, events: list[Event]) -> int:
    """Append several events in order, chained; the last sequence number."""
    if not in_write_transaction(conn):
        with write_transaction(conn):
            return record_many(conn, events)
    if is_postgresql(conn):
        # Writers queue here until the transaction that appended before them commits,
        # so each reads the chain's true end. (On SQLite the write lock already does.)
        scalar(conn, "SELECT pg_advisory_xact_lock(:key)", key=_CHAIN_LOCK)
    last = first(conn, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    seq, prev_hash = (last["seq"], last["hash"]) if last else (0, GENESIS)
    rows = []
    for event in events:
        detail = event.detail
        if isinstance(detail, dict):
            detail = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        seq += 1
        row = {"seq": seq, "at": event.at or clock.iso_now(), "actor": event.actor,
               "action": event.action, "subject": event.subject, "detail": detail,
               "prev_hash": prev_hash}
        row["hash"] = prev_hash = _row_hash(row)
        rows.append(row)
    insert_many(conn, "audit_log", rows)
    return seq


@dataclass
class ChainReport:
    rows_checked: int
    broken_at: int | None = None
    reason: str | None = None
    # What broke, for pages to word: "missing", "unlinked" or "altered".
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(conn: Connection, progress: Any = None) -> ChainReport:
    """Walk the chain in order and report the first row that does not fit."""
    # Streamed in batches: the log may hold millions of rows.
    with snapshot(conn), conn.execute(
            sql("SELECT * FROM audit_log ORDER BY seq"),
            execution_options={"stream_results": True, "yield_per": 10_000}) as result:
        return _walk(result.mappings(), progress)


def _walk(found: Iterator, progress: Any) -> ChainReport:
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for row in found:
        if row["seq"] != expected_seq:
            return ChainReport(checked, row["seq"], f"row {expected_seq} is missing", "missing")
        if row["prev_hash"] != expected_prev:
            return ChainReport(checked, row["seq"], "does not link to the row before it",
                               "unlinked")
        if _row_hash(dict(row)) != row["hash"]:
            return ChainReport(checked, row["seq"], "content does not match its hash", "altered")
        expected_prev = row["hash"]
        expected_seq += 1
        checked += 1
        if progress is not None:
            progress.update(1)
    return ChainReport(checked)


def row_count(conn: Connection) -> int:
    return scalar(conn, "SELECT COALESCE(MAX(seq), 0) FROM audit_log")


@click.command("verify-audit")
def verify_audit_command() -> None:
    """Check the audit log's hash chain; exit 1 at the first broken link."""
    from flask import current_app

    from .db import engine_for

    with engine_for(current_app).connect() as conn:
        with progress(row_count(conn), "Checking the audit log") as bar:
            report = verify(conn, bar)
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
