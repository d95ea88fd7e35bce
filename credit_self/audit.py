"""Append-only, hash-chained audit log, anchored by signed checkpoints.

Each row stores the SHA-256 of its own content plus the previous row's hash, so editing,
deleting or reordering any row breaks the chain from that row on. Triggers refuse UPDATE
and DELETE on both engines; the chain catches tampering done around them.

The chain alone cannot tell a genuine log from one rewritten and re-hashed from some row
on, or cut short: anyone with the database can recompute every hash. So the chain's head
is signed with an Ed25519 key kept outside the database (audit_keys): a checkpoint
(its number, the row count, the head hash, the time) is written by the append that finds
the newest checkpoint 5 minutes or 1,000 rows old, and by `flask audit-checkpoint`, and
published at /audit/checkpoints. `flask verify-audit` checks the newest checkpoint's
signature, that the log still holds that row unchanged, and the rows after it, so its
cost does not grow with the log; `--full` walks every row and checks every checkpoint.

Logged: sign-ins and failed sign-ins, activations, every write, and every read of a
resident's record by anyone other than that resident (including refused attempts).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from sqlalchemy import Connection

from . import audit_keys, clock
from .config import setting
from .progress import progress
from .db import (
    first,
    in_write_transaction,
    insert,
    insert_many,
    is_postgresql,
    rows,
    scalar,
    snapshot,
    sql,
    write_transaction,
)

GENESIS = "0" * 64
# Any constant: the PostgreSQL advisory lock that orders appends to the chain.
_CHAIN_LOCK = 0x41554449  # "AUDI"
# An append signs the head when the newest checkpoint is this many rows or this old.
CHECKPOINT_EVERY_ROWS = 1_000
CHECKPOINT_EVERY = timedelta(minutes=5)


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


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: when `created_at` came, the log held `seq` rows ending in
    `head_hash`. `id` numbers checkpoints 1, 2, 3 ..."""

    id: int
    seq: int
    head_hash: str
    created_at: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        return audit_keys.checkpoint_message(self.id, self.seq, self.head_hash, self.created_at)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def signing_key() -> Ed25519PrivateKey:
    """The app's key (AUDIT_SIGNING_KEY) in an app context, else the environment's."""
    if has_app_context():
        return audit_keys.signing_key(current_app.config.get("AUDIT_SIGNING_KEY"),
                                      Path(current_app.instance_path))
    return audit_keys.signing_key(setting(audit_keys.SETTING))


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


# ------------------------------------------------------------------ appending


def record(conn: Connection, actor: str, action: str, subject: str | None = None,
           detail: dict[str, Any] | str | None = None) -> int:
    """Append one event (in the caller's write transaction, or in its own); return its
    sequence number.

    `actor` is who acted ("resident:<id>", "reviewer:<login>", "anonymous", "system"),
    `subject` whose record it concerns (an ID number) when there is one.
    """
    return record_many(conn, [Event(actor, action, subject, detail)])


def record_many(conn: Connection, events: list[Event]) -> int:
    """Append several events in order, chained; the last sequence number. Signs a
    checkpoint too when the newest one is due (CHECKPOINT_EVERY_ROWS, CHECKPOINT_EVERY)."""
    if not in_write_transaction(conn):
        with write_transaction(conn):
            return record_many(conn, events)
    seq, prev_hash, newest = _chain_end(conn)
    appended = []
    for event in events:
        detail = event.detail
        if isinstance(detail, dict):
            detail = json.dumps(detail, ensure_ascii=False, sort_keys=True)
        seq += 1
        row = {"seq": seq, "at": event.at or clock.iso_now(), "actor": event.actor,
               "action": event.action, "subject": event.subject, "detail": detail,
               "prev_hash": prev_hash}
        row["hash"] = prev_hash = _row_hash(row)
        appended.append(row)
    insert_many(conn, "audit_log", appended)
    now = clock.now()
    if newest is None or seq - newest.seq >= CHECKPOINT_EVERY_ROWS \
            or now - _parse_time(newest.created_at) >= CHECKPOINT_EVERY:
        _write_checkpoint(conn, newest, seq, prev_hash, now)
    return seq


# The chain's last row and the newest checkpoint in one statement: on PostgreSQL every
# writer holds the chain's lock from this read to its commit, so a round trip less here
# is a shorter queue for all of them. (The one-row `one` makes a row when both are empty.)
_CHAIN_END_SQL = """
SELECT l.seq, l.hash, c.id AS checkpoint_id, c.seq AS checkpoint_seq, c.head_hash,
       c.created_at, c.key_id, c.signature
FROM (SELECT 1 AS here) one
LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) l ON 1 = 1
LEFT JOIN (SELECT * FROM audit_checkpoints ORDER BY id DESC LIMIT 1) c ON 1 = 1
"""


def _chain_end(conn: Connection) -> tuple[int, str, Checkpoint | None]:
    """Take the chain's lock and read its last row and newest checkpoint: (seq, hash,
    checkpoint), with (0, GENESIS) for an empty log and None before the first checkpoint."""
    if is_postgresql(conn):
        # Writers queue here until the transaction that appended before them commits,
        # so each reads the chain's true end. (On SQLite the write lock already does.)
        scalar(conn, "SELECT pg_advisory_xact_lock(:key)", key=_CHAIN_LOCK)
    end = first(conn, _CHAIN_END_SQL)
    newest = None if end["checkpoint_id"] is None else Checkpoint(
        end["checkpoint_id"], end["checkpoint_seq"], end["head_hash"], end["created_at"],
        end["key_id"], end["signature"])
    if end["seq"] is None:
        return 0, GENESIS, newest
    return end["seq"], end["hash"], newest


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # not a time this code wrote: sign a fresh checkpoint
        return datetime.min.replace(tzinfo=clock.now().tzinfo)


# ------------------------------------------------------------------ checkpoints


def newest_checkpoint(conn: Connection) -> Checkpoint | None:
    row = first(conn, "SELECT * FROM audit_checkpoints ORDER BY id DESC LIMIT 1")
    return Checkpoint(**row) if row else None


def checkpoints(conn: Connection, before: int | None = None, limit: int = 100) -> list[Checkpoint]:
    """Checkpoints newest first, those numbered below `before` when given."""
    return [Checkpoint(**row) for row in rows(
        conn, "SELECT * FROM audit_checkpoints WHERE id < :before ORDER BY id DESC LIMIT :limit",
        before=before if before is not None else 2**63 - 1, limit=limit)]


def checkpoint(conn: Connection) -> Checkpoint:
    """Sign the chain's head now (in the caller's write transaction, or in its own)."""
    if not in_write_transaction(conn):
        with write_transaction(conn):
            return checkpoint(conn)
    seq, head, newest = _chain_end(conn)
    return _write_checkpoint(conn, newest, seq, head, clock.now())


def _write_checkpoint(conn: Connection, newest: Checkpoint | None, seq: int, head: str,
                      at: datetime) -> Checkpoint:
    # Called under the chain's lock, so the numbers run 1, 2, 3 ... without gaps.
    key = signing_key()
    unsigned = Checkpoint(newest.id + 1 if newest else 1, seq, head,
                          at.isoformat(timespec="seconds"),
                          audit_keys.key_id(key.public_key()), "")
    signed = replace(unsigned, signature=audit_keys.sign(key, unsigned.message()))
    insert(conn, "audit_checkpoints", asdict(signed))
    return signed


def _forged(checkpoint: Checkpoint, key: Ed25519PublicKey) -> str | None:
    """Why the checkpoint's signature does not hold, or None when it does."""
    if checkpoint.key_id != audit_keys.key_id(key):
        return (f"checkpoint {checkpoint.id} names key {checkpoint.key_id}, "
                f"not this log's key {audit_keys.key_id(key)}")
    if not audit_keys.signature_matches(key, checkpoint.message(), checkpoint.signature):
        return f"checkpoint {checkpoint.id} has a signature that does not verify: it is forged"
    return None


@dataclass(frozen=True)
class AnchorStatus:
    """The newest checkpoint as a page can show it cheaply (a few indexed reads)."""

    checkpoint: Checkpoint | None
    signature_valid: bool
    head_matches: bool
    rows_since: int


def anchor_status(conn: Connection) -> AnchorStatus:
    """The newest checkpoint, whether its signature holds, whether the log still holds
    its row unchanged, and how many rows came after it; no walk of the chain."""
    newest = newest_checkpoint(conn)
    last = row_count(conn)
    if newest is None:
        return AnchorStatus(None, False, False, last)
    return AnchorStatus(newest, _forged(newest, public_key()) is None,
                        _anchor_problem(conn, newest) is None, max(last - newest.seq, 0))


# ------------------------------------------------------------------ checking


@dataclass
class ChainReport:
    rows_checked: int
    broken_at: int | None = None
    reason: str | None = None
    # What broke, for pages to word: "missing", "unlinked" or "altered" (a row),
    # "rewritten" or "truncated" (the log behind a signed checkpoint), "forged" or
    # "checkpoint_missing" (the checkpoints), "unanchored" (rows, but no checkpoint).
    problem: str | None = None
    # The newest checkpoint, which vouches for every row up to its `seq`.
    anchor: Checkpoint | None = None
    checkpoints_checked: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(conn: Connection, progress: Any = None, *, full: bool = True,
           key: Ed25519PublicKey | None = None) -> ChainReport:
    """Check the log against its signed checkpoints, with `key` (default: the public
    half of the signing key).

    full: walk every row from the first and check every checkpoint (the cost grows
    with the log). Otherwise check the newest checkpoint, the row it signed and the
    rows after it: `rows_checked` counts those rows only.
    """
    key = key or public_key()
    with snapshot(conn):
        if full:
            return _verify_full(conn, key, progress)
        return _verify_since_newest(conn, key, progress)


def _rows_from(conn: Connection, after: int):
    # Streamed in batches: the log may hold millions of rows.
    return conn.execute(
        sql("SELECT * FROM audit_log WHERE seq > :after ORDER BY seq"), {"after": after},
        execution_options={"stream_results": True, "yield_per": 10_000})


def _verify_since_newest(conn: Connection, key: Ed25519PublicKey, progress: Any) -> ChainReport:
    newest = newest_checkpoint(conn)
    if newest is None:
        return _unanchored(conn, 0)
    forged = _forged(newest, key)
    if forged:
        return ChainReport(0, None, forged, "forged", newest, 1)
    anchor = _anchor_problem(conn, newest)
    if anchor:
        return ChainReport(0, newest.seq, anchor[1], anchor[0], newest, 1)
    with _rows_from(conn, newest.seq) as result:
        report = _walk(result.mappings(), progress, newest.head_hash, newest.seq + 1)
    return replace(report, anchor=newest, checkpoints_checked=1)


def _anchor_problem(conn: Connection, checkpoint: Checkpoint) -> tuple[str, str] | None:
    """(problem, reason) when the log no longer holds the row the checkpoint signed."""
    signed = f"checkpoint {checkpoint.id} (signed {checkpoint.created_at})"
    if checkpoint.seq == 0:
        return None if checkpoint.head_hash == GENESIS else (
            "rewritten", f"{signed} signs an empty log with a head that is not the start")
    row = first(conn, "SELECT * FROM audit_log WHERE seq = :seq", seq=checkpoint.seq)
    if row is None:
        return ("truncated", f"the log ends at row {row_count(conn)}, but {signed} covers "
                             f"{checkpoint.seq} rows: rows were removed")
    if row["hash"] != checkpoint.head_hash or _row_hash(row) != row["hash"]:
        return ("rewritten", f"row {checkpoint.seq} is not the row {signed} vouches for: "
                             "the log was rewritten at or before it")
    return None


def _unanchored(conn: Connection, rows_checked: int) -> ChainReport:
    if row_count(conn) == 0:
        return ChainReport(rows_checked)
    return ChainReport(rows_checked, None, "no signed checkpoint vouches for the log "
                       "(run `flask --app app audit-checkpoint`)", "unanchored")


def _verify_full(conn: Connection, key: Ed25519PublicKey, progress: Any) -> ChainReport:
    signed = checkpoints(conn, limit=2**62)[::-1]
    for number, checkpoint in enumerate(signed, start=1):
        forged = _forged(checkpoint, key)
        if forged:
            return ChainReport(0, None, forged, "forged", signed[-1], number)
        if checkpoint.id != number:
            return ChainReport(0, None, f"checkpoint {number} is missing (the checkpoints "
                               f"go from {number - 1} to {checkpoint.id})", "checkpoint_missing",
                               signed[-1], number)
    heads: dict[int, list[Checkpoint]] = {}
    for checkpoint in signed:
        heads.setdefault(checkpoint.seq, []).append(checkpoint)
    with _rows_from(conn, 0) as result:
        report = _walk(result.mappings(), progress, GENESIS, 1, heads)
    report = replace(report, anchor=signed[-1] if signed else None,
                     checkpoints_checked=len(signed))
    if not report.ok:
        return report
    if not signed:
        return _unanchored(conn, report.rows_checked)
    newest = signed[-1]
    covered = max(checkpoint.seq for checkpoint in signed)
    if covered > report.rows_checked:
        return replace(report, broken_at=covered, problem="truncated", reason=(
            f"the log ends at row {report.rows_checked}, but checkpoint "
            f"{heads[covered][0].id} (signed {heads[covered][0].created_at}) covers "
            f"{covered} rows: rows were removed"), anchor=newest)
    return report


def check_saved(conn: Connection, saved: list[Checkpoint],
                key: Ed25519PublicKey | None = None) -> ChainReport:
    """Hold the log to checkpoints copied from /audit/checkpoints and kept outside: each
    must verify with `key`, still be stored as it was published, and still fit the log.
    This finds what the stored checkpoints alone cannot: the newest checkpoints deleted
    together with the rows they covered."""
    key = key or public_key()
    with snapshot(conn):
        for number, copy in enumerate(sorted(saved, key=lambda c: c.id), start=1):
            forged = _forged(copy, key)
            if forged:
                return ChainReport(0, None, f"the saved copy of {forged}", "forged", copy, number)
            stored = first(conn, "SELECT * FROM audit_checkpoints WHERE id = :id", id=copy.id)
            if stored is None or Checkpoint(**stored) != copy:
                return ChainReport(0, None, (
                    f"checkpoint {copy.id} (signed {copy.created_at}) is no longer stored as "
                    "it was published: checkpoints were removed or replaced"),
                    "checkpoint_missing", copy, number)
            anchor = _anchor_problem(conn, copy)
            if anchor:
                return ChainReport(0, copy.seq, anchor[1], anchor[0], copy, number)
    return ChainReport(0, checkpoints_checked=len(saved))


def parse_saved(text: str) -> list[Checkpoint]:
    """Checkpoints from a JSON list as /audit/checkpoints serves it; ValueError if not."""
    try:
        saved = [Checkpoint(**{field.name: item[field.name] for field in fields(Checkpoint)})
                 for item in json.loads(text)]
    except (TypeError, KeyError) as error:
        raise ValueError(f"not a list of checkpoints ({error})") from None
    for copy in saved:
        if not all(type(getattr(copy, field.name)) is (int if field.name in ("id", "seq") else str)
                   for field in fields(Checkpoint)):
            raise ValueError(f"checkpoint {copy.id!r} has a field of the wrong type")
    return saved


def _walk(found: Iterator, progress: Any, expected_prev: str = GENESIS, expected_seq: int = 1,
          heads: dict[int, list[Checkpoint]] | None = None) -> ChainReport:
    checked = 0
    for row in found:
        if row["seq"] != expected_seq:
            return ChainReport(checked, row["seq"], f"row {expected_seq} is missing", "missing")
        if row["prev_hash"] != expected_prev:
            return ChainReport(checked, row["seq"], "does not link to the row before it",
                               "unlinked")
        if _row_hash(dict(row)) != row["hash"]:
            return ChainReport(checked, row["seq"], "content does not match its hash", "altered")
        for checkpoint in (heads or {}).get(row["seq"], ()):
            if checkpoint.head_hash != row["hash"]:
                return ChainReport(checked, row["seq"], (
                    f"row {row['seq']} is not the row checkpoint {checkpoint.id} (signed "
                    f"{checkpoint.created_at}) vouches for: the log was rewritten at or "
                    "before it"), "rewritten")
        expected_prev = row["hash"]
        expected_seq += 1
        checked += 1
        if progress is not None:
            progress.update(1)
    return ChainReport(checked)


def row_count(conn: Connection) -> int:
    return scalar(conn, "SELECT COALESCE(MAX(seq), 0) FROM audit_log")


# ------------------------------------------------------------------ commands


@click.command("verify-audit")
@with_appcontext
@click.option("--full", is_flag=True,
              help="Walk every row from the first and check every checkpoint (the time "
                   "grows with the log). Default: the newest checkpoint and the rows after it.")
@click.option("--public-key", "public_key_file",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Check signatures with this PEM public key (as /audit/public-key serves "
                   "it) instead of the signing key's own.")
@click.option("--saved", "saved_file",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also hold the log to checkpoints saved earlier from /audit/checkpoints "
                   "(a JSON list), kept outside the database.")
def verify_audit_command(full: bool, public_key_file: Path | None,
                         saved_file: Path | None) -> None:
    """Check the audit log against its signed checkpoints; exit 1 on any break."""
    from .db import engine_for

    try:
        key = audit_keys.load_public_pem(public_key_file.read_bytes()) if public_key_file \
            else public_key()
    except (ValueError, audit_keys.SigningKeyError) as error:
        raise click.ClickException(f"cannot use the key: {error}") from None
    try:
        saved = parse_saved(saved_file.read_text(encoding="utf-8")) if saved_file else []
    except (ValueError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read the saved checkpoints: {error}") from None
    with engine_for(current_app).connect() as conn:
        if saved:
            report = check_saved(conn, saved, key)
            if not report.ok:
                _fail(report)
            click.echo(f"the {len(saved)} saved checkpoints hold")
        newest = None if full else newest_checkpoint(conn)
        length = row_count(conn) - (newest.seq if newest else 0)
        with progress(max(length, 0), "Checking the audit log") as bar:
            report = verify(conn, bar, full=full, key=key)
    if not report.ok:
        _fail(report)
    click.echo(_ok_summary(report, full))


def _fail(report: ChainReport) -> None:
    where = f"broken at row {report.broken_at}: " if report.broken_at is not None else "broken: "
    click.echo(f"{where}{report.reason}", err=True)
    raise SystemExit(1)


def _ok_summary(report: ChainReport, full: bool) -> str:
    anchor = report.anchor
    if anchor is None:
        return "ok (0 rows)"
    if full:
        held = report.checkpoints_checked
        return (f"ok ({report.rows_checked} rows checked link by link, {held} signed "
                f"{'checkpoint holds' if held == 1 else 'checkpoints hold'})")
    return (f"ok ({anchor.seq + report.rows_checked} rows: {anchor.seq} vouched for by "
            f"checkpoint {anchor.id}, signed {anchor.created_at}; the {report.rows_checked} "
            "after it checked link by link)")


@click.command("audit-checkpoint")
@with_appcontext
def audit_checkpoint_command() -> None:
    """Sign the audit log's head now and store the checkpoint."""
    from .db import engine_for

    with engine_for(current_app).connect() as conn:
        made = checkpoint(conn)
    click.echo(f"checkpoint {made.id}: row {made.seq}, head {made.head_hash}, "
               f"signed {made.created_at} with key {made.key_id}")


def init_app(app: Flask) -> None:
    """Register the commands; load the signing key now, so a key that cannot be used
    stops the app at start rather than failing its first write."""
    app.cli.add_command(verify_audit_command)
    app.cli.add_command(audit_checkpoint_command)
    with app.app_context():
        signing_key()
