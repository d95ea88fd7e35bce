"""Staff accounts data layer: create and look up administrator accounts."""
import re

from sqlite_utils import Database
from werkzeug.security import generate_password_hash

from .. import audit
from ..db import write_transaction

STAFF_ROLES = ("pilot_admin", "reviewer", "superadmin")
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{2,39}$")


class StaffAccountError(ValueError):
    """A staff account could not be created; the message says why."""


def create_staff_account(
    db: Database,
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
            "username must be 3-40 characters: lower-case letters, digits, . _ -, starting with a letter"
        )
    if role not in STAFF_ROLES:
        raise StaffAccountError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if len(password) < 10:
        raise StaffAccountError("password must be at least 10 characters")
    if role == "pilot_admin":
        if not pilot_code:
            raise StaffAccountError("a pilot_admin needs --pilot CODE")
        if not db.execute("SELECT 1 FROM pilots WHERE code = ?", [pilot_code]).fetchone():
            raise StaffAccountError(f"no pilot with code {pilot_code!r}")
    elif pilot_code:
        raise StaffAccountError("only a pilot_admin has a pilot")
    with write_transaction(db):
        if db.execute("SELECT 1 FROM accounts WHERE login = ?", [username]).fetchone():
            raise StaffAccountError(f"an account named {username!r} already exists")
        account_id = db.table("accounts").insert(
            {
                "login": username,
                "id_number": None,
                "password_hash": generate_password_hash(password),
                "role": role,
                "pilot_code": pilot_code,
                "display_name": display_name or username,
                "activated_at": at,
            }
        ).last_pk
        audit.record(
            db, created_by, "staff_account_created", None,
            {"username": username, "role": role, "pilot_code": pilot_code},
        )
    return account_id
