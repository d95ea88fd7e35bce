"""Accounts data layer: register look-ups, activation, sign-in throttling and sessions.

No Flask here: every function takes the Connection, so the CLI and tests use it directly.

Sessions live on the server (`account_sessions`): the cookie carries a random token, the
table only its SHA-256. Every signed-in request reads its session and account in one
query, so signing out, a password change or disabling an account ends a session on
every server at its next request.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_login import UserMixin
from sqlalchemy import Connection
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit, signals
from ..db import execute, first, insert, scalar, write_transaction
from ..i18n import N_
from . import codes, delays

RESIDENT = "resident"
STAFF_ROLES = ("pilot_admin", "reviewer", "superadmin")

# Checked when no account matches, so an unknown ID costs the same time as a wrong
# password and response times do not reveal which IDs have accounts.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

_ACCOUNT_COLUMNS = "a.id, a.login, a.id_number, a.role, a.pilot_code, a.display_name, a.disabled_at"


@dataclass
class Account(UserMixin):
    id: int
    login: str
    id_number: str | None
    role: str
    pilot_code: str | None
    display_name: str | None
    disabled_at: str | None
    # The token of the session this account was loaded for (what the cookie holds).
    session_token: str | None = None
    # How long that session may stay idle, and how much of it is left (idle timeout).
    idle_minutes: int | None = None
    idle_seconds_left: int | None = None

    def get_id(self) -> str | None:  # flask-login: what the session cookie stores
        return self.session_token

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


def _account(row: dict, session_token: str | None = None) -> Account:
    return Account(row["id"], row["login"], row["id_number"], row["role"], row["pilot_code"],
                   row["display_name"], row["disabled_at"], session_token)


def get_account(conn: Connection, account_id: int) -> Account | None:
    row = first(conn, f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = :id", id=account_id)
    return _account(row) if row else None


def find_resident(conn: Connection, id_number: str) -> dict | None:
    return first(conn, "SELECT * FROM residents WHERE id_number = :id_number", id_number=id_number)


def resident_for_code(conn: Connection, id_number: str, name: str, purpose: str) -> dict | None:
    """The register's row to send a code to: the ID number and the name match it, and
    the account is in the state the purpose needs (none yet to activate; an enabled
    resident account to recover). None otherwise, never saying which part failed."""
    resident = find_resident(conn, id_number)
    # No phone in the register, no code: nothing else proves who is asking.
    if resident is None or resident["name"] != name or not resident["phone"]:
        return None
    account = first(conn, "SELECT role, disabled_at FROM accounts WHERE login = :id",
                    id=id_number)
    if purpose == codes.ACTIVATION:
        return resident if account is None else None
    usable = account is not None and account["role"] == RESIDENT and account["disabled_at"] is None
    return resident if usable else None


def has_account(conn: Connection, id_number: str) -> bool:
    return scalar(conn, "SELECT 1 FROM accounts WHERE id_number = :id OR login = :id",
                  id=id_number) is not None


# ------------------------------------------------------------------ sessions


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: Connection, account: Account, at: str) -> Account:
    """A new server-side session for the account; the returned Account carries its token."""
    token = secrets.token_urlsafe(32)
    with write_transaction(conn):
        insert(conn, "account_sessions", {"id": _token_hash(token), "account_id": account.id,
                                          "created_at": at, "last_seen_at": at})
    account.session_token = token
    return account


@dataclass(frozen=True)
class IdleLimits:
    """How long a session may go without a request before it ends (WCAG 2.2.1: the
    page warns before, and the person can ask for more time)."""

    resident_minutes: int
    staff_minutes: int

    def minutes_for(self, account: Account) -> int:
        return self.resident_minutes if account.is_resident else self.staff_minutes


class SessionTimedOut(Exception):
    """The session went unused for longer than its limit and has been ended."""

    def __init__(self, account: Account, idle_minutes: int) -> None:
        super().__init__(idle_minutes)
        self.account = account
        self.idle_minutes = idle_minutes


# A request moves a session's last_seen_at only when it is older than this: a session
# costs one write a minute, not one per request (the idle limit is that much shorter at
# worst, which the warning covers).
LAST_SEEN_GRANULARITY = timedelta(minutes=1)


def account_for_session(conn: Connection, token: str, now: datetime, idle: IdleLimits,
                        touch: bool = True) -> Account | None:
    """The account a session token belongs to; None once the session has ended or the
    account is disabled. A session idle for longer than its limit is ended here (audited)
    and SessionTimedOut raised, so the page can say why. `touch=False` reads the session
    without counting as activity (the idle warning asking how long is left)."""
    row = first(
        conn,
        f"SELECT {_ACCOUNT_COLUMNS}, s.last_seen_at FROM account_sessions s "
        "JOIN accounts a ON a.id = s.account_id WHERE s.id = :id AND a.disabled_at IS NULL",
        id=_token_hash(token),
    )
    if row is None:
        return None
    account = _account(row, token)
    account.idle_minutes = idle.minutes_for(account)
    limit = timedelta(minutes=account.idle_minutes)
    idle_for = now - datetime.fromisoformat(row["last_seen_at"])
    if idle_for > limit:
        with write_transaction(conn):
            # Only the session as it was read: a request that kept it alive meanwhile wins.
            ended = execute(conn, "DELETE FROM account_sessions WHERE id = :id "
                                  "AND last_seen_at = :seen",
                            id=_token_hash(token), seen=row["last_seen_at"]).rowcount
            if ended:
                audit.record(conn, account.audit_name, "signed_out_idle", account.id_number,
                             {"idle_minutes": account.idle_minutes})
        raise SessionTimedOut(account, account.idle_minutes)
    if touch and idle_for > LAST_SEEN_GRANULARITY:
        keep_session_alive(conn, account, now)
        idle_for = timedelta(0)
    account.idle_seconds_left = int((limit - idle_for).total_seconds())
    return account


def keep_session_alive(conn: Connection, account: Account, now: datetime) -> None:
    """Restart the idle clock of the session this account was loaded for."""
    assert account.session_token is not None
    with write_transaction(conn):
        execute(conn, "UPDATE account_sessions SET last_seen_at = :now WHERE id = :id",
                id=_token_hash(account.session_token), now=_iso(now))
    if account.idle_minutes is not None:
        account.idle_seconds_left = account.idle_minutes * 60


def sign_out(conn: Connection, account: Account) -> None:
    """End the session this account was loaded for; audited in the same transaction."""
    assert account.session_token is not None
    with write_transaction(conn):
        execute(conn, "DELETE FROM account_sessions WHERE id = :id",
                id=_token_hash(account.session_token))
        audit.record(conn, account.audit_name, "signed_out", account.id_number)


def sign_out_everywhere(conn: Connection, account: Account) -> int:
    """End every session of the account, on every device; how many there were."""
    with write_transaction(conn):
        ended = execute(conn, "DELETE FROM account_sessions WHERE account_id = :id",
                        id=account.id).rowcount
        audit.record(conn, account.audit_name, "signed_out_everywhere", account.id_number,
                     {"sessions": ended})
    return ended


# ------------------------------------------------------------------ activation


class AlreadyActivated(Exception):
    """Another request activated this ID first."""


def activate(conn: Connection, id_number: str, password: str, at: str) -> Account:
    """Create the resident's account; audited in the same transaction."""
    with write_transaction(conn):
        if has_account(conn, id_number):
            raise AlreadyActivated(id_number)
        account_id = insert(conn, "accounts", {
            "login": id_number,
            "id_number": id_number,
            "password_hash": generate_password_hash(password),
            "role": RESIDENT,
            "activated_at": at,
        }, returning="id")
        audit.record(conn, f"resident:{id_number}", "account_activated", id_number)
    account = get_account(conn, account_id)
    assert account is not None
    return account


def activate_with_code(conn: Connection, token: str, password: str, now: datetime) -> Account:
    """Activation's last step: the browser whose code was right chooses the password.
    Raises CodeNeeded when it has no verified code (any more), AlreadyActivated when
    another browser finished first."""
    with write_transaction(conn):
        id_number = codes.use(conn, token, codes.ACTIVATION, now)
        if id_number is None:
            raise CodeNeeded()
        return activate(conn, id_number, password, _iso(now))


class CodeNeeded(Exception):
    """No verified one-time code for this step: enter the code first."""


PASSWORD_RESET_TITLE = N_("Your password was reset")
PASSWORD_RESET_TEXT = N_(
    "Your password was reset with a code sent to %(phone)s, and every device that was "
    "signed in to your account was signed out. If you did not do this, reset it again "
    "now with \"Forgot your password?\" on the sign-in page: only the owner of this "
    "phone can.")


def reset_password(conn: Connection, token: str, password: str, now: datetime,
                   phone_masked: str) -> Account:
    """Recovery's last step: a new password for the account whose code this browser
    entered. Ends every session of the account and any other code under way, forgets
    the login's failed attempts, and tells the resident (a `resident_notice`, which the
    inbox turns into a message in this transaction). Raises CodeNeeded."""
    at = _iso(now)
    with write_transaction(conn):
        id_number = codes.use(conn, token, codes.RECOVERY, now)
        if id_number is None:
            raise CodeNeeded()
        row = first(conn, f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.id_number = :id "
                          "AND a.role = :role AND a.disabled_at IS NULL",
                    id=id_number, role=RESIDENT)
        if row is None:  # disabled or gone since the code was sent
            raise CodeNeeded()
        account = _account(row)
        execute(conn, "UPDATE accounts SET password_hash = :hash WHERE id = :id",
                id=account.id, hash=generate_password_hash(password))
        ended = execute(conn, "DELETE FROM account_sessions WHERE account_id = :id",
                        id=account.id).rowcount
        codes.end_all(conn, id_number)
        delays.forgive(conn, delays.login_key(account.login))
        audit.record(conn, account.audit_name, "password_reset", id_number, {"sessions": ended})
        signals.resident_notice.send("auth", conn=conn, id_number=id_number, kind="password_reset",
                                     at=at, title=PASSWORD_RESET_TITLE, text=PASSWORD_RESET_TEXT,
                                     values={"phone": phone_masked})
    return account


# ------------------------------------------------------------------ signing in


@dataclass
class SignInResult:
    account: Account | None = None
    # When the next attempt may come, if it must wait (refused, or this failure made it).
    retry_at: datetime | None = None


def sign_in(conn: Connection, login: str, password: str, now: datetime, address: str | None,
            login_policy: delays.Policy, address_policy: delays.Policy,
            staff: bool = False) -> SignInResult:
    """Check a login and password, after reserving the attempt on the login typed
    (whether or not an account exists, so a delay never reveals which IDs have accounts)
    and on the client address (delays.py).

    Residents sign in on the resident page and staff on the staff page; the right
    password at the wrong door counts as a failure. Returns the account on success;
    `retry_at` when the next attempt must wait.
    """
    login_key, address_key = delays.login_key(login), delays.address_key(address)
    reserved = delays.reserve(conn, {login_key: login_policy, address_key: address_policy}, now)
    if not reserved.allowed:
        audit.record(conn, "anonymous", "sign_in_delayed", None,
                     {"login": login, "retry_at": _iso(reserved.retry_at)})
        return SignInResult(retry_at=reserved.retry_at)
    row = first(conn, "SELECT * FROM accounts WHERE login = :login", login=login)
    password_ok = check_password_hash(row["password_hash"] if row else _DUMMY_HASH, password)
    right_door = row is not None and (row["role"] != RESIDENT) == staff
    if row and password_ok and right_door and row["disabled_at"] is None:
        account = _account(row)
        with write_transaction(conn):
            delays.forgive(conn, login_key)
            delays.give_back(conn, address_key, address_policy)
            audit.record(conn, account.audit_name, "signed_in", account.id_number)
        return SignInResult(account=account)
    audit.record(conn, "anonymous", "sign_in_failed", row["id_number"] if row else None,
                 {"login": login, "failures": reserved.failures[login_key],
                  "delayed": reserved.retry_at is not None})
    return SignInResult(retry_at=reserved.retry_at)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def check_password(conn: Connection, account_id: int, password: str) -> bool:
    stored = scalar(conn, "SELECT password_hash FROM accounts WHERE id = :id", id=account_id)
    return check_password_hash(stored or _DUMMY_HASH, password) and stored is not None


def change_password(conn: Connection, account: Account, password: str) -> None:
    """Set a new password and end every session of the account (the caller starts a new
    one for the browser that made the change)."""
    with write_transaction(conn):
        execute(conn, "UPDATE accounts SET password_hash = :hash WHERE id = :id",
                id=account.id, hash=generate_password_hash(password))
        execute(conn, "DELETE FROM account_sessions WHERE account_id = :id", id=account.id)
        audit.record(conn, account.audit_name, "password_changed", account.id_number)
