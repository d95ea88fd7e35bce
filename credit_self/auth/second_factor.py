"""Staff second factor: a TOTP authenticator app (RFC 6238, pyotp) and ten one-time
recovery codes. No Flask here: every function takes the Connection.

A staff password alone signs nobody in: after it, the account either enrols (scans a
QR code, confirms one code, receives its recovery codes) or enters a code. Secrets stay
in `staff_totp`; recovery codes are stored only as SHA-256 hashes (80 random bits each,
so a copy of the table does not give them back).

A code is accepted once: the time step it belongs to is stored, and a code of that step
or an earlier one is refused (replay). Wrong codes are counted per account before they
are checked, in one conditional UPDATE, so however many arrive at once at most
`max_failures` are checked before the account's code step locks.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import Connection

from .. import audit
from ..db import execute, first, insert_many, scalar, write_transaction
from .accounts import Account

ISSUER = "Credit Self-Check"
RECOVERY_CODE_COUNT = 10
# Recovery codes: 16 characters from 31 that cannot be mistaken for one another
# (no 0/o, 1/l/i), about 79 random bits; shown in groups of four.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 16
# A code of the step before or after the server's is accepted too (a phone's clock
# may be up to 30 seconds off).
VALID_WINDOW = 1
TOTP_DIGITS = 6


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """A secret or recovery code in groups of four, easier to copy by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def normalise_code(typed: str | None) -> str:
    """What the person typed, without spaces or hyphens, in lower case."""
    return "".join((typed or "").split()).replace("-", "").lower()


def is_totp_code(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isdigit()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is (within the valid window), else None."""
    try:
        return pyotp.TOTP(secret).verify_and_get_timecode(code, for_time=now,
                                                          valid_window=VALID_WINDOW)
    except pyotp.OTPVerificationError:
        return None


def is_enrolled(conn: Connection, account_id: int) -> bool:
    return enrolled_at(conn, account_id) is not None


def enrolled_at(conn: Connection, account_id: int) -> str | None:
    """When the account set up its authenticator app; None until it has."""
    return scalar(conn, "SELECT enrolled_at FROM staff_totp WHERE account_id = :id", id=account_id)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _recovery_hash(account_id: int, code: str) -> str:
    return hashlib.sha256(f"{account_id}:{normalise_code(code)}".encode()).hexdigest()


def _new_recovery_codes() -> list[str]:
    return ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4))
                     for _ in range(_RECOVERY_LENGTH // 4))
            for _ in range(RECOVERY_CODE_COUNT)]


# ------------------------------------------------------------------ enrolment


class AlreadyEnrolled(Exception):
    """The account enrolled in another browser meanwhile."""


def _store_enrolment(conn: Connection, account_id: int, secret: str, at: str,
                     last_step: int | None) -> None:
    stored = execute(
        conn, "INSERT INTO staff_totp (account_id, secret, enrolled_at, last_step, failures) "
              "VALUES (:id, :secret, :at, :step, 0) ON CONFLICT (account_id) DO NOTHING",
        id=account_id, secret=secret, at=at, step=last_step).rowcount
    if stored != 1:
        raise AlreadyEnrolled(account_id)


def enrol(conn: Connection, account: Account, secret: str, code: str,
          now: datetime) -> list[str] | None:
    """Confirm an authenticator app with one of its codes: the secret is stored with ten
    new recovery codes (hashed), audited. Returns the recovery codes in clear (shown this
    once), or None when the code does not match the secret."""
    step = matching_step(secret, normalise_code(code), now)
    if step is None:
        return None
    codes = _new_recovery_codes()
    at = _iso(now)
    with write_transaction(conn):
        # The confirming code counts as used: it cannot sign in again.
        _store_enrolment(conn, account.id, secret, at, step)
        insert_many(conn, "staff_recovery_codes", [
            {"account_id": account.id, "code_hash": _recovery_hash(account.id, c),
             "created_at": at, "used_at": None} for c in codes])
        audit.record(conn, account.audit_name, "staff_second_factor_enrolled", None,
                     {"recovery_codes": len(codes)})
    return codes


def enrol_with_secret(conn: Connection, account_id: int, secret: str, at: str) -> None:
    """Enrol an account with a known secret and no recovery codes: the demo staff only,
    whose secrets are published so demos and checks can sign in."""
    with write_transaction(conn):
        _store_enrolment(conn, account_id, secret, at, None)


class NoStaffAccount(LookupError):
    """No staff account has this user name."""


def reset(conn: Connection, username: str, actor: str) -> bool:
    """Forget a staff account's authenticator app and recovery codes (a lost phone) and
    end its sessions: its next sign-in enrols again. Audited; False when it had none."""
    with write_transaction(conn):
        account_id = scalar(conn, "SELECT id FROM accounts WHERE login = :login "
                                  "AND role != 'resident'", login=username)
        if account_id is None:
            raise NoStaffAccount(username)
        execute(conn, "DELETE FROM staff_recovery_codes WHERE account_id = :id", id=account_id)
        had = execute(conn, "DELETE FROM staff_totp WHERE account_id = :id",
                      id=account_id).rowcount == 1
        execute(conn, "DELETE FROM account_sessions WHERE account_id = :id", id=account_id)
        # Named like the other staff account changes, so it shows in the account's history.
        audit.record(conn, actor, "staff_account_second_factor_reset", None,
                     {"username": username, "had_one": had})
    return had


def recovery_codes_left(conn: Connection, account_id: int) -> int:
    return scalar(conn, "SELECT count(*) FROM staff_recovery_codes "
                        "WHERE account_id = :id AND used_at IS NULL", id=account_id)


# ------------------------------------------------------------------ signing in


class NotEnrolled(LookupError):
    """The account has no authenticator app (any more): it must enrol first."""


@dataclass
class CodeResult:
    accepted: bool = False
    method: str | None = None  # "totp" or "recovery" when accepted
    replayed: bool = False  # the right code, already used
    locked_until: datetime | None = None


def _reserve_attempt(conn: Connection, account: Account, now: datetime, max_failures: int,
                     lock_minutes: int) -> datetime | None:
    """Count this attempt before its code is checked: None when it may go ahead, else
    when the lock ends. A right code then clears the count (see accounts._reserve_attempt
    for the same pattern on passwords)."""
    with write_transaction(conn):
        execute(conn, "UPDATE staff_totp SET failures = 0, locked_until = NULL "
                      "WHERE account_id = :id AND locked_until <= :now",
                id=account.id, now=_iso(now))
        counted = scalar(
            conn,
            "UPDATE staff_totp SET failures = failures + 1, "
            "locked_until = CASE WHEN failures + 1 >= :most THEN :lock_until END "
            "WHERE account_id = :id AND locked_until IS NULL RETURNING failures",
            id=account.id, most=max_failures,
            lock_until=_iso(now + timedelta(minutes=lock_minutes)),
        )
        if counted is not None:
            return None
        until = scalar(conn, "SELECT locked_until FROM staff_totp WHERE account_id = :id",
                       id=account.id)
        if until is None:  # no row: reset since the password was entered
            raise NotEnrolled(account.id)
        audit.record(conn, account.audit_name, "staff_code_refused_locked", None)
    return datetime.fromisoformat(until)


def check_code(conn: Connection, account: Account, typed: str, now: datetime,
               max_failures: int, lock_minutes: int) -> CodeResult:
    """Check a code from the authenticator app (six digits) or a recovery code, once.

    Every outcome is audited: a pass (and which kind of code), a used recovery code with
    how many are left, a wrong or replayed code with the failure count.
    """
    locked = _reserve_attempt(conn, account, now, max_failures, lock_minutes)
    if locked is not None:
        return CodeResult(locked_until=locked)
    code = normalise_code(typed)
    with write_transaction(conn):
        row = first(conn, "SELECT secret, last_step FROM staff_totp WHERE account_id = :id",
                    id=account.id)
        if is_totp_code(code):
            method = "totp"
            step = matching_step(row["secret"], code, now)
            replayed = step is not None and row["last_step"] is not None \
                and step <= row["last_step"]
            # Conditional on the step stored, so two requests with one code cannot both pass.
            accepted = step is not None and execute(
                conn, "UPDATE staff_totp SET last_step = :step WHERE account_id = :id "
                      "AND (last_step IS NULL OR last_step < :step)",
                id=account.id, step=step).rowcount == 1
        else:
            method, replayed = "recovery", False
            accepted = execute(
                conn, "UPDATE staff_recovery_codes SET used_at = :now WHERE account_id = :id "
                      "AND code_hash = :hash AND used_at IS NULL",
                id=account.id, hash=_recovery_hash(account.id, code), now=_iso(now)).rowcount == 1
        if accepted:
            execute(conn, "UPDATE staff_totp SET failures = 0, locked_until = NULL "
                          "WHERE account_id = :id", id=account.id)
            if method == "recovery":
                audit.record(conn, account.audit_name, "staff_recovery_code_used", None,
                             {"left": recovery_codes_left(conn, account.id)})
            audit.record(conn, account.audit_name, "staff_second_factor_passed", None,
                         {"method": method})
            return CodeResult(accepted=True, method=method)
        state = first(conn, "SELECT failures, locked_until FROM staff_totp WHERE account_id = :id",
                      id=account.id)
        audit.record(conn, account.audit_name, "staff_second_factor_failed", None,
                     {"method": method, "replayed": replayed, "failures": state["failures"],
                      "locked": state["locked_until"] is not None})
    locked_until = state["locked_until"]
    return CodeResult(replayed=replayed,
                      locked_until=datetime.fromisoformat(locked_until) if locked_until else None)
