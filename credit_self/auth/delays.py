"""Growing delays after failed attempts, per login and per client address.

A lock after a few failures is a weapon: anyone who knows an ID number could keep its
owner out for as long as they liked. Here failures only slow things down. The first few
on a key are free; after that each failure makes the next attempt on that key wait 1 s,
2 s, 4 s ... up to a cap, and an hour without failures forgets them. Keys are
"login:<ID number or staff username>" and "address:<client address>", so a stranger
cannot guess quickly at one account from many addresses, nor at many accounts from one
address. The owner of a resident account is never stuck behind a stranger's failures:
recovery with a code sent to the registered phone is not delayed by the login's
failures, and it forgives them.

An attempt is reserved, counted as a failure on each of its keys, before anything is
checked. Each key's row is taken with a conditional UPDATE that succeeds only if the
row is still as it was read (compare and swap), in one transaction for all keys, so
attempts arriving together never get more checks than the delays allow, on either
engine. A success then gives its failure back, and the wait that failure made.

No Flask here: every function takes the Connection.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection

from ..db import execute, first, rows, sql, write_transaction

FORGET_AFTER = timedelta(hours=1)
# Rounds of compare and swap before an attempt that keeps losing the race is refused
# (each lost round means another attempt was counted, so this bounds nothing real).
MAX_ROUNDS = 50


def login_key(login: str) -> str:
    return f"login:{login}"


def address_key(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


@dataclass(frozen=True)
class Policy:
    """How many failures on a key are free, and the longest wait after more."""

    free_failures: int
    max_delay: timedelta

    def delay_after(self, failures: int) -> timedelta:
        """The wait before the next attempt once `failures` have been counted."""
        if failures <= self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures - 1, 30)
        return min(timedelta(seconds=2 ** doublings), self.max_delay)


@dataclass(frozen=True)
class Reservation:
    """The answer to "may this attempt go ahead?".

    Refused: `retry_at` is when an attempt may come again. Allowed: `retry_at` is when
    the next one may come should this one fail (None: at once), and `failures` the
    count on each key including this attempt.
    """

    allowed: bool
    retry_at: datetime | None = None
    failures: dict[str, int] = field(default_factory=dict)


class _LostRace(Exception):
    """Another attempt changed a key between our read and our write: read again."""


def _stamp(moment: datetime) -> str:
    # One fixed format (UTC, milliseconds), so stored times also compare as text.
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _parse(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp) if stamp else None


def reserve(conn: Connection, policies: dict[str, Policy], now: datetime) -> Reservation:
    """Count one attempt as a failure on every key, if none of them must wait."""
    for _round in range(MAX_ROUNDS):
        try:
            return _reserve_once(conn, policies, now)
        except _LostRace:
            continue
    return Reservation(False, now + timedelta(seconds=1))


def _reserve_once(conn: Connection, policies: dict[str, Policy], now: datetime) -> Reservation:
    forgotten_before = _stamp(now - FORGET_AFTER)
    with write_transaction(conn):
        # Rows an hour quiet are forgotten: a range delete on an index, usually empty.
        execute(conn, "DELETE FROM failed_attempts WHERE last_failure_at < :before",
                before=forgotten_before)
        seen = {row["key"]: row for row in rows(
            conn, sql("SELECT key, failures, retry_at, last_failure_at FROM failed_attempts "
                      "WHERE key IN :keys", "keys"), keys=list(policies))}
        waits = [_parse(row["retry_at"]) for row in seen.values()
                 if row["retry_at"] and _parse(row["retry_at"]) > now]
        if waits:
            return Reservation(False, max(waits))
        counted: dict[str, int] = {}
        next_retry = now
        for key, policy in policies.items():
            row = seen.get(key)
            failures = (row["failures"] if row else 0) + 1
            retry_at = now + policy.delay_after(failures)
            next_retry = max(next_retry, retry_at)
            values = {"key": key, "failures": failures, "retry_at": _stamp(retry_at),
                      "now": _stamp(now)}
            if row is None:
                taken = execute(
                    conn, "INSERT INTO failed_attempts (key, failures, retry_at, last_failure_at) "
                          "VALUES (:key, :failures, :retry_at, :now) ON CONFLICT (key) DO NOTHING",
                    **values).rowcount
            else:
                taken = execute(
                    conn, "UPDATE failed_attempts SET failures = :failures, retry_at = :retry_at, "
                          "last_failure_at = :now WHERE key = :key AND failures = :seen_failures "
                          "AND last_failure_at = :seen_last",
                    seen_failures=row["failures"], seen_last=row["last_failure_at"],
                    **values).rowcount
            if taken != 1:
                raise _LostRace(key)  # rolls back what this round wrote
            counted[key] = failures
    return Reservation(True, next_retry if next_retry > now else None, counted)


def forgive(conn: Connection, key: str) -> None:
    """Forget every failure on a key (the right password; a reset by recovery)."""
    with write_transaction(conn):
        execute(conn, "DELETE FROM failed_attempts WHERE key = :key", key=key)


def give_back(conn: Connection, key: str, policy: Policy) -> None:
    """The reserved attempt succeeded: it was no failure after all, so the key loses one
    failure and the wait that failure made. The wait left is what the remaining failures
    make, counted from the last attempt (none while they are free): otherwise attempts
    that arrived together and all succeeded would leave a wait behind them, and the next
    person at that address would be told to wait for failures nobody made. (An address
    keeps its other failures: signing in to one's own account must not wash away guesses
    at others'.)"""
    for _round in range(MAX_ROUNDS):
        with write_transaction(conn):
            row = first(conn, "SELECT failures, retry_at, last_failure_at FROM failed_attempts "
                              "WHERE key = :key", key=key)
            if row is None or row["failures"] <= 0:
                return
            failures = row["failures"] - 1
            retry_at = _parse(row["last_failure_at"]) + policy.delay_after(failures)
            if row["retry_at"]:
                retry_at = min(retry_at, _parse(row["retry_at"]))
            # Compare and swap, as in reserve: an attempt counted meanwhile means read again.
            if execute(conn, "UPDATE failed_attempts SET failures = :failures, "
                             "retry_at = :retry_at WHERE key = :key "
                             "AND failures = :seen_failures AND last_failure_at = :seen_last",
                       key=key, failures=failures, retry_at=_stamp(retry_at),
                       seen_failures=row["failures"], seen_last=row["last_failure_at"]).rowcount:
                return
