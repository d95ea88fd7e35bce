"""Certificates data layer: every SQL statement of the capability (no Flask here).

Timestamps are UTC ISO-8601 text (clock.iso_now()); `today` arguments are China
Standard Time dates as ISO text, which is what list entry dates mean.
"""
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection

from .. import audit
from ..db import execute, first, insert, rows, scalar, write_transaction

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
# blacklist entry that is listed (not withdrawn or restored), in effect (its notice period,
# `publish_on`, over) and not yet expired. One EXISTS on the entries(id_number) index, so
# a scan stays cheap. `{holder}` is the SQL naming the holder's ID number.
_ANY_RESTRICTION = """EXISTS (
    SELECT 1 FROM entries e
    JOIN lists l ON l.code = e.list_code AND l.kind = 'blacklist'
    JOIN list_sanctions ls ON ls.list_code = e.list_code
    WHERE e.id_number = {holder}
      AND e.status NOT IN ('withdrawn', 'restored')
      AND COALESCE(e.publish_on, e.listed_on) <= :today
      AND (e.expires_on IS NULL OR e.expires_on > :today)
)"""
_RESTRICTED_SQL = "SELECT " + _ANY_RESTRICTION.format(holder=":id_number")


def has_restrictions(conn: Connection, id_number: str, today: str) -> bool:
    """True while any active blacklist entry with a sanction applies to the resident."""
    return bool(scalar(conn, _RESTRICTED_SQL, id_number=id_number, today=today))


def new_id() -> str:
    return secrets.token_urlsafe(16)


def create(
    conn: Connection,
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
    insert(conn, "certificates", row)
    return row


def certificates_for(conn: Connection, id_number: str) -> list[dict]:
    """The resident's certificates, newest first, with how often each was scanned."""
    return rows(
        conn,
        """SELECT c.*, (SELECT COUNT(*) FROM certificate_scans s
                        WHERE s.certificate_id = c.id) AS scan_count
           FROM certificates c WHERE c.id_number = :id_number
           ORDER BY c.issued_at DESC, c.id""",
        id_number=id_number,
    )


def certificate_for(conn: Connection, id_number: str, certificate_id: str) -> dict | None:
    """One certificate, only if it is this resident's."""
    return first(conn, "SELECT * FROM certificates WHERE id = :id AND id_number = :id_number",
                 id=certificate_id, id_number=id_number)


def owner_of(conn: Connection, certificate_id: str) -> str | None:
    """Whose certificate this is, for auditing a refused attempt to reach it."""
    return scalar(conn, "SELECT id_number FROM certificates WHERE id = :id", id=certificate_id)


def revoke(conn: Connection, id_number: str, certificate_id: str, at: str) -> bool:
    """Revoke once (the first revocation time is kept); True if it was revoked now."""
    return execute(
        conn,
        """UPDATE certificates SET revoked_at = :at
           WHERE id = :id AND id_number = :id_number AND revoked_at IS NULL""",
        at=at, id=certificate_id, id_number=id_number,
    ).rowcount == 1


_FOR_VERIFICATION_SQL = f"""
SELECT c.id, c.id_number, c.purpose, c.audience, c.issued_at, c.expires_at, c.revoked_at,
       r.name, {_ANY_RESTRICTION.format(holder="c.id_number")} AS restricted
FROM certificates c JOIN residents r ON r.id_number = c.id_number
WHERE c.id = :certificate_id
"""


def for_verification(conn: Connection, certificate_id: str, today: str) -> dict | None:
    """What a scan needs, read in one statement: the certificate, the holder's
    registered name and whether any restriction applies to the holder today."""
    return first(conn, _FOR_VERIFICATION_SQL, certificate_id=certificate_id, today=today)


# ------------------------------------------------------------------ the scan log
SCANS_SHOWN = 50


def log_scan(conn: Connection, certificate_id: str, id_number: str, at: str, outcome: str,
             browser_family: str) -> None:
    """Log one scan of a genuine token naming a known certificate, in the scan's own
    request. A verification reads the holder's restrictions, so it is also an audited
    read of their record (shown in their "Who looked"), in the same transaction and
    stamped with the time of the scan (the demo's scans happened before the seed ran)."""
    with write_transaction(conn):
        insert(conn, "certificate_scans", {"certificate_id": certificate_id, "at": at,
                                           "verdict": outcome, "browser_family": browser_family})
        audit.record_many(conn, [audit.Event(
            "anonymous", "certificate_verified", id_number,
            {"certificate_id": certificate_id, "outcome": outcome}, at=at)])


def scan_history(conn: Connection, certificate_id: str) -> tuple[list[dict], int]:
    """The latest scans, newest first (a much-scanned certificate would otherwise make
    an endless page; the data export has every row), and how many there are in all."""
    total = scalar(conn, "SELECT COUNT(*) FROM certificate_scans WHERE certificate_id = :id",
                   id=certificate_id)
    latest = rows(conn, """SELECT at, verdict, browser_family FROM certificate_scans
                           WHERE certificate_id = :id ORDER BY at DESC, id DESC LIMIT :limit""",
                  id=certificate_id, limit=SCANS_SHOWN)
    return latest, total


def status(certificate: dict, now: datetime) -> str:
    """valid / expired / revoked, as the holder's list shows it."""
    if certificate["revoked_at"]:
        return REVOKED
    if datetime.fromisoformat(certificate["expires_at"]) <= now:
        return EXPIRED
    return VALID
