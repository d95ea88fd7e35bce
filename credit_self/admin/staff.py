"""Staff accounts data layer: create and look up administrator accounts."""
import re

from sqlalchemy import Connection
from werkzeug.security import generate_password_hash

from .. import audit
from ..db import execute, first, insert, is_postgresql, rows, scalar, write_transaction

STAFF_ROLES = ("pilot_admin", "reviewer", "superadmin")
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")


class StaffAccountError(ValueError):
    """A staff account could not be created or changed; the message says why.

    `code` names the rule for the web pages, which word it in the reader's language.
    """

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def create_staff_account(
    db: Connection,
    username: str,
    password: str,
    role: str,
    display_name: str,
    pilot_code: str | None,
    created_by: str,
    at: str,
) -> int:
    """Create a staff account after checking every rule; audited."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise StaffAccountError(
            "username must be 3-40 characters: lower-case letters, digits, . _ -, starting with a letter",
            "username_format",
        )
    if role not in STAFF_ROLES:
        raise StaffAccountError(f"role must be one of {', '.join(STAFF_ROLES)}", "role")
    if len(password) < 10:
        raise StaffAccountError("password must be at least 10 characters", "password_short")
    if role == "pilot_admin":
        if not pilot_code:
            raise StaffAccountError("a pilot_admin needs --pilot CODE", "pilot_missing")
        if scalar(db, "SELECT 1 FROM pilots WHERE code = :code", code=pilot_code) is None:
            raise StaffAccountError(f"no pilot with code {pilot_code!r}", "pilot_unknown")
    elif pilot_code:
        raise StaffAccountError("only a pilot_admin has a pilot", "pilot_not_allowed")
    with write_transaction(db):
        if scalar(db, "SELECT 1 FROM accounts WHERE login = :login", login=username) is not None:
            raise StaffAccountError(f"an account named {username!r} already exists", "username_taken")
        account_id = insert(
            db, "accounts",
            {
                "login": username,
                "id_number": None,
                "password_hash": generate_password_hash(password),
                "role": role,
                "pilot_code": pilot_code,
                "display_name": display_name or username,
                "activated_at": at,
            },
            returning="id",
        )
        audit.record(
            db, created_by, "staff_account_created", None,
            {"username": username, "role": role, "pilot_code": pilot_code},
        )
    return account_id


# ---------------------------------------------------------------- managing accounts
# Every change is audited (action staff_account_*, detail names the account and the old
# and new values): the append-only audit log is the account's history.


def list_staff(db: Connection) -> list[dict]:
    return rows(db, "SELECT id, login, role, pilot_code, display_name, activated_at, disabled_at "
                    "FROM accounts WHERE role != 'resident' ORDER BY role, login")


def get_staff(db: Connection, account_id: int) -> dict | None:
    return first(db, "SELECT id, login, role, pilot_code, display_name, activated_at, disabled_at "
                     "FROM accounts WHERE id = :id AND role != 'resident'", id=account_id)


def account_history(db: Connection, login: str) -> list[dict]:
    # The audit detail is JSON text on both engines; each reads a key its own way.
    username = ("(detail::jsonb ->> 'username')" if is_postgresql(db)
                else "json_extract(detail, '$.username')")
    return rows(db, "SELECT seq, at, actor, action, detail FROM audit_log "
                    f"WHERE action LIKE 'staff_account_%' AND {username} = :login "
                    "ORDER BY seq DESC", login=login)


def _active_superadmins(db: Connection) -> int:
    return scalar(db, "SELECT count(*) FROM accounts WHERE role = 'superadmin' "
                      "AND disabled_at IS NULL")


def _is_last_superadmin(db: Connection, account: dict) -> bool:
    return (
        account["role"] == "superadmin"
        and account["disabled_at"] is None
        and _active_superadmins(db) <= 1
    )


def change_role(
    db: Connection, account_id: int, role: str, pilot_code: str | None, actor_id: int, actor: str, at: str
) -> None:
    """Give a staff account another role (and pilot, for a pilot_admin)."""
    if role not in STAFF_ROLES:
        raise StaffAccountError(f"role must be one of {', '.join(STAFF_ROLES)}", "role")
    if role == "pilot_admin":
        if not pilot_code:
            raise StaffAccountError("a pilot_admin needs a pilot", "pilot_missing")
        if scalar(db, "SELECT 1 FROM pilots WHERE code = :code", code=pilot_code) is None:
            raise StaffAccountError(f"no pilot with code {pilot_code!r}", "pilot_unknown")
    else:
        pilot_code = None
    with write_transaction(db):
        account = get_staff(db, account_id)
        if account is None:
            raise StaffAccountError("no such staff account", "not_found")
        if account_id == actor_id:
            raise StaffAccountError("you cannot change your own role", "self")
        if role != "superadmin" and _is_last_superadmin(db, account):
            raise StaffAccountError("the last superadmin must stay a superadmin", "last_superadmin")
        if account["role"] == role and account["pilot_code"] == pilot_code:
            return
        execute(db, "UPDATE accounts SET role = :role, pilot_code = :pilot WHERE id = :id",
                role=role, pilot=pilot_code, id=account_id)
        audit.record(
            db, actor, "staff_account_role_changed", None,
            {"username": account["login"], "old_role": account["role"], "new_role": role,
             "old_pilot_code": account["pilot_code"], "new_pilot_code": pilot_code},
        )


def set_disabled(db: Connection, account_id: int, disabled: bool, actor_id: int, actor: str, at: str) -> None:
    """Disable (signs the account out and refuses sign-in) or enable a staff account."""
    with write_transaction(db):
        account = get_staff(db, account_id)
        if account is None:
            raise StaffAccountError("no such staff account", "not_found")
        if disabled:
            if account_id == actor_id:
                raise StaffAccountError("you cannot disable your own account", "self")
            if _is_last_superadmin(db, account):
                raise StaffAccountError("the last superadmin cannot be disabled", "last_superadmin")
            if account["disabled_at"] is not None:
                return
            execute(db, "UPDATE accounts SET disabled_at = :at WHERE id = :id", at=at, id=account_id)
            # Signed out everywhere at once (the session check also reads disabled_at).
            execute(db, "DELETE FROM account_sessions WHERE account_id = :id", id=account_id)
            audit.record(db, actor, "staff_account_disabled", None, {"username": account["login"]})
        else:
            if account["disabled_at"] is None:
                return
            execute(db, "UPDATE accounts SET disabled_at = NULL WHERE id = :id", id=account_id)
            audit.record(
                db, actor, "staff_account_enabled", None,
                {"username": account["login"], "was_disabled_at": account["disabled_at"]},
            )


def pilot_choices(db: Connection) -> list[dict]:
    """Pilots a pilot administrator can be given, for the account forms."""
    return rows(db, "SELECT code, name_en, name_zh FROM pilots ORDER BY code")
