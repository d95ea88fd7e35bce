"""One-time codes for activation and recovery, sent by text message to the mobile number
in the population register: what proves a person is the owner of an ID, since an ID
number and a name are no secret.

Each activation or recovery under way in a browser has its own row. The browser's
session holds a random token; the table holds its SHA-256 (`id`) and an HMAC of the code
under the app's secret key, so a copy of the table reveals neither. A code is valid for
10 minutes and 5 tries (per row, not reset by a new code); a new code can be asked for
60 s after the last one was sent. Because tries belong to the row, a stranger's wrong
guesses use up only the stranger's own tries, never the owner's.

No Flask here: every function takes the Connection.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum

from sqlalchemy import Connection

from ..db import execute, first, insert, scalar, write_transaction

ACTIVATION, RECOVERY = "activation", "recovery"
CODE_DIGITS = 6
VALID_FOR = timedelta(minutes=10)
MAX_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)


class Outcome(Enum):
    RIGHT = "right"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY = "too_many"  # the last try was used: start again
    GONE = "gone"  # no such row for this purpose (finished, replaced, never started)


@dataclass(frozen=True)
class Check:
    outcome: Outcome
    tries_left: int = 0


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _row_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(secret: str, row_id: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{row_id}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def start(conn: Connection, id_number: str, purpose: str, now: datetime,
          secret: str) -> tuple[str, str]:
    """A new row for `id_number`: (the token for the browser's session, the code to send)."""
    token, code = secrets.token_urlsafe(32), new_code()
    row_id = _row_id(token)
    with write_transaction(conn):
        # Expired rows are of no use to anyone: a range delete on an index.
        execute(conn, "DELETE FROM one_time_codes WHERE expires_at < :now", now=_stamp(now))
        insert(conn, "one_time_codes", {
            "id": row_id, "id_number": id_number, "purpose": purpose,
            "code_hash": _code_hash(secret, row_id, code),
            "created_at": _stamp(now), "sent_at": _stamp(now),
            "expires_at": _stamp(now + VALID_FOR), "tries": 0,
        })
    return token, code


def pending(conn: Connection, token: str | None, purpose: str) -> dict | None:
    """The row a browser's token names, while its code has not been entered."""
    if not token:
        return None
    return first(conn, "SELECT * FROM one_time_codes WHERE id = :id AND purpose = :purpose "
                       "AND verified_at IS NULL", id=_row_id(token), purpose=purpose)


def resend_at(row: dict) -> datetime:
    return datetime.fromisoformat(row["sent_at"]) + RESEND_AFTER


def renew(conn: Connection, token: str, purpose: str, now: datetime, secret: str) -> str | None:
    """A new code for the row, replacing the old one, if a minute has passed since the
    last was sent; None otherwise (or when the row is gone). Tries are not reset."""
    row = pending(conn, token, purpose)
    if row is None or now < resend_at(row):
        return None
    code = new_code()
    with write_transaction(conn):
        # Only if nobody renewed it since it was read: one new code per minute at most.
        changed = execute(
            conn, "UPDATE one_time_codes SET code_hash = :code_hash, sent_at = :now, "
                  "expires_at = :expires_at WHERE id = :id AND sent_at = :seen "
                  "AND verified_at IS NULL",
            code_hash=_code_hash(secret, row["id"], code),
            now=_stamp(now), expires_at=_stamp(now + VALID_FOR), id=row["id"],
            seen=row["sent_at"]).rowcount
    return code if changed == 1 else None


def check(conn: Connection, token: str | None, purpose: str, code: str, now: datetime,
          secret: str) -> Check:
    """Check a code typed in the browser that holds `token`.

    The try is counted by a conditional UPDATE before the code is compared, in one
    transaction, so tries sent together never exceed five. The fifth wrong one ends
    the row; a right one marks it verified, and the password must follow within
    VALID_FOR.
    """
    row = pending(conn, token, purpose)
    if row is None:
        return Check(Outcome.GONE)
    if now >= datetime.fromisoformat(row["expires_at"]):
        return Check(Outcome.EXPIRED)
    with write_transaction(conn):
        tries = scalar(conn, "UPDATE one_time_codes SET tries = tries + 1 WHERE id = :id "
                             "AND tries < :most AND verified_at IS NULL RETURNING tries",
                       id=row["id"], most=MAX_TRIES)
        if tries is None:
            return Check(Outcome.GONE)
        current = scalar(conn, "SELECT code_hash FROM one_time_codes WHERE id = :id", id=row["id"])
        if hmac.compare_digest(current, _code_hash(secret, row["id"], code)):
            execute(conn, "UPDATE one_time_codes SET verified_at = :now, expires_at = :until "
                          "WHERE id = :id", now=_stamp(now), until=_stamp(now + VALID_FOR),
                    id=row["id"])
            return Check(Outcome.RIGHT)
        if tries >= MAX_TRIES:
            execute(conn, "DELETE FROM one_time_codes WHERE id = :id", id=row["id"])
            return Check(Outcome.TOO_MANY)
    return Check(Outcome.WRONG, MAX_TRIES - tries)


def verified_id_number(conn: Connection, token: str | None, purpose: str,
                       now: datetime) -> str | None:
    """The ID number whose code this browser entered, while it may still choose a password."""
    if not token:
        return None
    return scalar(conn, "SELECT id_number FROM one_time_codes WHERE id = :id "
                        "AND purpose = :purpose AND verified_at IS NOT NULL AND expires_at > :now",
                  id=_row_id(token), purpose=purpose, now=_stamp(now))


def use(conn: Connection, token: str, purpose: str, now: datetime) -> str | None:
    """End a verified row as its password is set (in the caller's transaction): its ID
    number, or None when it was already used or has expired (a second submit)."""
    id_number = verified_id_number(conn, token, purpose, now)
    if id_number is None:
        return None
    deleted = execute(conn, "DELETE FROM one_time_codes WHERE id = :id AND verified_at IS NOT NULL",
                      id=_row_id(token)).rowcount
    return id_number if deleted == 1 else None


def end_all(conn: Connection, id_number: str) -> None:
    """End every row of an ID (its password was just reset: other flows are stale)."""
    execute(conn, "DELETE FROM one_time_codes WHERE id_number = :id_number", id_number=id_number)
