"""Certificates data layer: every SQL statement of the capability (no Flask here).

Timestamps are UTC ISO-8601 text (clock.iso_now()); `today` arguments are China
Standard Time dates as ISO text, which is what list entry dates mean.
"""
import secrets
from datetime import datetime, timedelta

from sqlite_utils import Database

from . import scan_log

PURPOSES = ("rental", "employment", "other")
VALIDITY_DAYS = (1, 3, 7)
DEFAULT_VALIDITY_DAYS = 3

# Exact outcomes kept in the holder's scan log.
VALID = "valid"
EXPIRED = "expired"
REVOKED = "revoked"
RESTRICTED = "restricted"
NOT_GENUINE = "not_genuine"

# Same rule as records.rules.entry_state + summarise: a restriction is a sanction of a
# blacklist entry that is listed (not withdrawn or restored), already listed and not yet
# expired. One EXISTS on the entries(id_number) index, so a scan stays cheap. `{holder}`
# is the SQL naming the holder's ID number.
_ANY_RESTRICTION = """EXISTS (
    SELECT 1 FROM entries e
    JOIN lists l ON l.code = e.list_code AND l.kind = 'blacklist'
    JOIN list_sanctions ls ON ls.list_code = e.list_code
    WHERE e.id_number = {holder}
      AND e.status NOT IN ('withdrawn', 'restored')
      AND e.listed_on <= :today
      AND (e.expires_on IS NULL OR e.expires_on > :today)
)"""
_RESTRICTED_SQL = "SELECT " + _ANY_RESTRICTION.format(holder=":id_number")


def has_restrictions(db: Database, id_number: str, today: str) -> bool:
    """True while any active blacklist entry with a sanction applies to the resident."""
    row = db.execute(_RESTRICTED_SQL, {"id_number": id_number, "today": today}).fetchone()
    return bool(row[0])


def new_id() -> str:
    return secrets.token_urlsafe(16)


def create(
    db: Database,
    id_number: str,
    purpose: str,
    audience: str | None,
    issued_at: datetime,
    days: int,
) -> dict:
    """Insert a certificate (the caller holds the write transaction) and return it."""
    row = {
        "id": new_id(),
        "id_number": id_number,
        "purpose": purpose,
        "audience": audience or None,
        "issued_at": issued_at.isoformat(timespec="seconds"),
        "expires_at": (issued_at + timedelta(days=days)).isoformat(timespec="seconds"),
        "revoked_at": None,
    }
    db.table("certificates").insert(row)
    return row


def certificates_for(db: Database, id_number: str) -> list[dict]:
    """The resident's certificates, newest first, with how often each was scanned."""
    scan_log.fold_all(db)
    return list(
        db.query(
            """SELECT c.*, (SELECT COUNT(*) FROM certificate_scans s
                            WHERE s.certificate_id = c.id) AS scan_count
               FROM certificates c WHERE c.id_number = ?
               ORDER BY c.issued_at DESC, c.id""",
            [id_number],
        )
    )


def certificate_for(db: Database, id_number: str, certificate_id: str) -> dict | None:
    """One certificate, only if it is this resident's."""
    rows = list(
        db.query(
            "SELECT * FROM certificates WHERE id = ? AND id_number = ?",
            [certificate_id, id_number],
        )
    )
    return rows[0] if rows else None


def owner_of(db: Database, certificate_id: str) -> str | None:
    """Whose certificate this is, for auditing a refused attempt to reach it."""
    row = db.execute(
        "SELECT id_number FROM certificates WHERE id = ?", [certificate_id]
    ).fetchone()
    return row[0] if row else None


def revoke(db: Database, id_number: str, certificate_id: str, at: str) -> bool:
    """Revoke once (the first revocation time is kept); True if it was revoked now."""
    cursor = db.execute(
        """UPDATE certificates SET revoked_at = ?
           WHERE id = ? AND id_number = ? AND revoked_at IS NULL""",
        [at, certificate_id, id_number],
    )
    return cursor.rowcount == 1


_FOR_VERIFICATION_SQL = f"""
SELECT c.id, c.id_number, c.purpose, c.audience, c.issued_at, c.expires_at, c.revoked_at,
       r.name, {_ANY_RESTRICTION.format(holder="c.id_number")} AS restricted
FROM certificates c JOIN residents r ON r.id_number = c.id_number
WHERE c.id = :certificate_id
"""


def for_verification(db: Database, certificate_id: str, today: str) -> dict | None:
    """What a scan needs, read in one statement: the certificate, the holder's
    registered name and whether any restriction applies to the holder today."""
    rows = list(db.query(_FOR_VERIFICATION_SQL, {"certificate_id": certificate_id,
                                                 "today": today}))
    return rows[0] if rows else None


def status(certificate: dict, now: datetime) -> str:
    """valid / expired / revoked, as the holder's list shows it."""
    if certificate["revoked_at"]:
        return REVOKED
    if datetime.fromisoformat(certificate["expires_at"]) <= now:
        return EXPIRED
    return VALID
