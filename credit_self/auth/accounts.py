"""Accounts data layer: residents' register look-ups, activation, sign-in throttling.

No Flask here: every function takes the Database, so the CLI and tests use it directly.
"""
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from flask_login import UserMixin
from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..db import write_transaction

RESIDENT = "resident"
STAFF_ROLES = ("pilot_admin", "reviewer", "superadmin")

# Checked when no account matches, so an unknown ID costs the same time as a wrong
# password and response times do not reveal which IDs have accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


@dataclass
class Account(UserMixin):
    id: int
    login: str
    id_number: str | None
    role: str
    pilot_code: str | None
    display_name: str | None
    disabled_at: str | None

    @property
    def is_active(self) -> bool:  # flask-login: disabled accounts cannot sign in
        return self.disabled_at is None

    @property
    def is_resident(self) -> bool:
        return self.role == RESIDENT

    @property
    def audit_name(self) -> str:
        """How this account appears as the actor in the audit log."""
        return f"{self.role}:{self.login}"


# An Account's fields, in order: the columns get_account reads.
_ACCOUNT_COLUMNS = ", ".join(field.name for field in fields(Account))


def _account(row: dict) -> Account:
    return Account(
        id=row["id"],
        login=row["login"],
        id_number=row["id_number"],
        role=row["role"],
        pilot_code=row["pilot_code"],
        display_name=row["display_name"],
        disabled_at=row["disabled_at"],
    )


def get_account(db: Database, account_id: int) -> Account | None:
    # Read on every signed-in request: only the columns an Account holds (not the
    # password hash), straight into the dataclass.
    row = db.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?", [account_id]).fetchone()
    return Account(*row) if row else None


def find_resident(db: Database, id_number: str) -> dict | None:
    rows = list(db.query("SELECT * FROM residents WHERE id_number = ?", [id_number]))
    return rows[0] if rows else None


def has_account(db: Database, id_number: str) -> bool:
    return bool(
        db.execute(
            "SELECT 1 FROM accounts WHERE id_number = ? OR login = ?",
            [id_number, id_number],
        ).fetchone()
    )


class AlreadyActivated(Exception):
    """Another request activated this ID first."""


def activate(db: Database, id_number: str, password: str, at: str) -> Account:
    """Create the resident's account; audited in the same transaction."""
    with write_transaction(db):
        if has_account(db, id_number):
            raise AlreadyActivated(id_number)
        account_id = db.table("accounts").insert(
            {
                "login": id_number,
                "id_number": id_number,
                "password_hash": generate_password_hash(password),
                "role": RESIDENT,
                "activated_at": at,
            }
        ).last_pk
        audit.record(db, f"resident:{id_number}", "account_activated", id_number)
    account = get_account(db, account_id)
    assert account is not None
    return account


@dataclass
class SignInResult:
    account: Account | None = None
    locked_until: datetime | None = None


def _locked_until(db: Database, login: str, now: datetime) -> datetime | None:
    row = db.execute(
        "SELECT locked_until FROM login_throttle WHERE login = ?", [login]
    ).fetchone()
    if row and row[0]:
        until = datetime.fromisoformat(row[0])
        if until > now:
            return until
    return None


def sign_in(
    db: Database,
    login: str,
    password: str,
    now: datetime,
    max_failures: int,
    lock_minutes: int,
    staff: bool = False,
) -> SignInResult:
    """Check a login and password, counting failures per login typed.

    Residents sign in on the resident page and staff on the staff page; the right
    password at the wrong door counts as a failure.

    Returns the account on success; `locked_until` when the login is locked (before or
    because of this attempt); neither on a plain wrong ID or password.
    """
    locked = _locked_until(db, login, now)
    if locked:
        audit.record(db, "anonymous", "sign_in_refused_locked", None, {"login": login})
        return SignInResult(locked_until=locked)
    rows = list(db.query("SELECT * FROM accounts WHERE login = ?", [login]))
    row = rows[0] if rows else None
    password_ok = check_password_hash(
        row["password_hash"] if row else _DUMMY_HASH, password
    )
    right_door = row is not None and (row["role"] != RESIDENT) == staff
    if row and password_ok and right_door and row["disabled_at"] is None:
        account = _account(row)
        with write_transaction(db):
            db.execute("DELETE FROM login_throttle WHERE login = ?", [login])
            audit.record(db, account.audit_name, "signed_in", account.id_number)
        return SignInResult(account=account)

    with write_transaction(db):
        previous = db.execute(
            "SELECT failures, locked_until FROM login_throttle WHERE login = ?", [login]
        ).fetchone()
        # A lock that has run out starts a fresh count.
        failures = 1 if (previous is None or previous[1]) else previous[0] + 1
        locked_until = (
            now + timedelta(minutes=lock_minutes) if failures >= max_failures else None
        )
        db.table("login_throttle").upsert(
            {
                "login": login,
                "failures": failures,
                "locked_until": locked_until.isoformat(timespec="seconds")
                if locked_until
                else None,
                "last_failure_at": now.isoformat(timespec="seconds"),
            },
            pk="login",
        )
        audit.record(
            db,
            "anonymous",
            "sign_in_failed",
            row["id_number"] if row else None,
            {"login": login, "failures": failures, "locked": bool(locked_until)},
        )
    return SignInResult(locked_until=locked_until)
