"""Certificates data layer: every SQL statement of the capability (no Flask here).

Timestamps are UTC ISO-8601 text (clock.iso_now()); `today` arguments are China
Standard Time dates as ISO text, which is what list entry dates mean.
"""
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection

from .. import audit
from ..db import execute, first, insert, rows, scalar, write_transaction
from . import statements

PURPOSES = ("rental", "employment", "bidding", "other")
# Validity in hours: 1 hour to 90 days.
VALIDITY_HOURS = (1, 24, 72, 168, 720, 2160)
DEFAULT_VALIDITY_HOURS = 72
LONGEST_VALIDITY = timedelta(hours=max(VALIDITY_HOURS))

# Exact outcomes kept in the holder's scan log.
VALID = "valid"
EXPIRED = "expired"
REVOKED = "revoked"
RESTRICTED = "restricted"  # a statement the certificate makes is no longer true
NOT_GENUINE = "not_genuine"

# Same rule as records.rules.entry_state: an entry on a blacklist that is listed (not
# withdrawn or restored), in effect (its notice period, `publish_on`, over) and not yet
# expired; read through the entries(id_number) index, so a scan stays cheap.
_ACTIVE = """e.status NOT IN ('withdrawn', 'restored')
      AND COALESCE(e.publish_on, e.listed_on) <= :today
      AND (e.expires_on IS NULL OR e.expires_on > :today)"""
_BLACKLIST = "e.list_code IN (SELECT code FROM lists WHERE kind = 'blacklist')"


def active_blacklist_entries(conn: Connection, id_number: str, today: str) -> list[dict]:
    """The resident's active blacklist entries (id, list_code): what statements deny."""
    return rows(conn, f"""SELECT e.id, e.list_code FROM entries e
                          WHERE e.id_number = :id_number AND {_BLACKLIST} AND {_ACTIVE}
                          ORDER BY e.id""", id_number=id_number, today=today)


def new_id() -> str:
    return secrets.token_urlsafe(16)


def create(
    conn: Connection,
    id_number: str,
    purpose: str,
    audience: str | None,
    issued_at: datetime,
    validity: timedelta,
    chosen_statements: tuple[str, ...] = statements.PRESET,
) -> dict:
    """Insert a certificate (the caller holds the write transaction) and return it."""
    row = {
        "id": new_id(),
        "id_number": id_number,
        "purpose": purpose,
        "audience": audience or None,
        "issued_at": issued_at.isoformat(timespec="seconds"),
        "expires_at": (issued_at + validity).isoformat(timespec="seconds"),
        "revoked_at": None,
        "statements": statements.encode(chosen_statements),
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


def revoke(conn: Connection, id_number: str, certificate_id: str, at: str) -> bool:
    """Revoke once (the first revocation time is kept); True if it was revoked now. An
    offline credential's next status list is made at once, with its bit set."""
    revoked = execute(
        conn,
        """UPDATE certificates SET revoked_at = :at
           WHERE id = :id AND id_number = :id_number AND revoked_at IS NULL""",
        at=at, id=certificate_id, id_number=id_number,
    ).rowcount == 1
    if revoked:
        expire_status_tokens(conn, certificate_id=certificate_id)
    return revoked


_FOR_VERIFICATION_SQL = """
SELECT c.id, c.id_number, c.purpose, c.audience, c.issued_at, c.expires_at, c.revoked_at,
       c.statements, r.name
FROM certificates c JOIN residents r ON r.id_number = c.id_number
WHERE c.id = :certificate_id
"""


def for_verification(conn: Connection, certificate_id: str, today: str) -> dict | None:
    """What a scan needs: the certificate, the holder's registered name, and
    `false_statements`, those of its statements that the holder's entries contradict
    today (read live, on every scan)."""
    certificate = first(conn, _FOR_VERIFICATION_SQL, certificate_id=certificate_id)
    if certificate is None:
        return None
    active = active_blacklist_entries(conn, certificate["id_number"], today)
    certificate["false_statements"] = [
        statement for statement in statements.decode(certificate["statements"])
        if statements.contradicting(statement, active)]
    return certificate


# ------------------------------------------------------------------ the scan log
SCANS_SHOWN = 50


def log_scan(conn: Connection, certificate_id: str, id_number: str, at: str, outcome: str,
             browser_family: str, declared_who: str | None = None,
             declared_why: str | None = None) -> None:
    """Log one scan of a genuine token naming a known certificate, in the scan's own
    request. A verification reads the holder's restrictions, so it is also an audited
    read of their record (shown in their "Who looked"), in the same transaction and
    stamped with the time of the scan (the demo's scans happened before the seed ran)."""
    with write_transaction(conn):
        insert(conn, "certificate_scans", {
            "certificate_id": certificate_id, "at": at, "verdict": outcome,
            "browser_family": browser_family, "declared_who": declared_who or None,
            "declared_why": declared_why or None})
        audit.record_many(conn, [audit.Event(
            "anonymous", "certificate_verified", id_number,
            {"certificate_id": certificate_id, "outcome": outcome}, at=at)])


def scan_history(conn: Connection, certificate_id: str) -> tuple[list[dict], int]:
    """The latest scans, newest first (a much-scanned certificate would otherwise make
    an endless page; the data export has every row), and how many there are in all."""
    total = scalar(conn, "SELECT COUNT(*) FROM certificate_scans WHERE certificate_id = :id",
                   id=certificate_id)
    latest = rows(conn, """SELECT at, verdict, browser_family, declared_who, declared_why
                           FROM certificate_scans
                           WHERE certificate_id = :id ORDER BY at DESC, id DESC LIMIT :limit""",
                  id=certificate_id, limit=SCANS_SHOWN)
    return latest, total


def status(certificate: dict, now: datetime, active_entries: list[dict]) -> str:
    """What a verifier would be told now: revoked, expired, restricted (a statement the
    certificate makes is false today, given the holder's active blacklist entries) or
    valid. The holder's pages show this, so they never disagree with a scan."""
    if certificate["revoked_at"]:
        return REVOKED
    if datetime.fromisoformat(certificate["expires_at"]) <= now:
        return EXPIRED
    if restricting_entries(certificate, active_entries):
        return RESTRICTED
    return VALID


def restricting_entries(certificate: dict, active_entries: list[dict]) -> list[dict]:
    """The active entries that make one of the certificate's statements false."""
    found = {}
    for statement in statements.decode(certificate["statements"]):
        for entry in statements.contradicting(statement, active_entries):
            found[entry["id"]] = entry
    return list(found.values())


# ------------------------------------------------------ offline credentials and status
STATUS_LIST_SIZE = 131_072  # bits: 16 KiB before compression
# A list takes new credentials until half its indexes are used, so a random free index
# is found in a try or two.
STATUS_LIST_FILL = STATUS_LIST_SIZE // 2


def allocate_status(conn: Connection, created_at: str) -> tuple[str, int]:
    """A free (status list, index) for a new credential (the caller holds the write
    transaction and inserts the credential at once). The index is random, so
    neighbouring bits say nothing about the order of issue."""
    current = first(conn, """SELECT id FROM certificate_status_lists WHERE used < :fill
                             ORDER BY created_at DESC, id LIMIT 1""", fill=STATUS_LIST_FILL)
    if current is None:
        list_id = new_id()
        insert(conn, "certificate_status_lists", {"id": list_id, "size": STATUS_LIST_SIZE,
                                                  "used": 0, "created_at": created_at})
    else:
        list_id = current["id"]
    while True:
        index = secrets.randbelow(STATUS_LIST_SIZE)
        taken = scalar(conn, """SELECT 1 FROM certificate_credentials
                                WHERE status_list = :list AND status_index = :index""",
                       list=list_id, index=index)
        if not taken:
            break
    execute(conn, "UPDATE certificate_status_lists SET used = used + 1 WHERE id = :id",
            id=list_id)
    return list_id, index


def add_credential(conn: Connection, certificate_id: str, status_list: str, status_index: int,
                   credential: str) -> None:
    insert(conn, "certificate_credentials", {
        "certificate_id": certificate_id, "status_list": status_list,
        "status_index": status_index, "credential": credential})


def credential_for(conn: Connection, certificate_id: str) -> dict | None:
    return first(conn, "SELECT * FROM certificate_credentials WHERE certificate_id = :id",
                 id=certificate_id)


def status_list(conn: Connection, list_id: str) -> dict | None:
    return first(conn, "SELECT * FROM certificate_status_lists WHERE id = :id", id=list_id)


def live_status_lists(conn: Connection, now: str) -> list[str]:
    """Lists holding a credential that has not expired: what an offline verifier keeps."""
    return [row["status_list"] for row in rows(conn, """
        SELECT DISTINCT cc.status_list FROM certificate_credentials cc
        JOIN certificates c ON c.id = cc.certificate_id
        WHERE c.expires_at > :now ORDER BY cc.status_list""", now=now)]


def invalid_indexes(conn: Connection, list_id: str, now: str, today: str) -> set[int]:
    """Indexes in the list whose credential is revoked, or states something its holder's
    active entries contradict today. Expired credentials are left alone (their `exp`
    already ends them)."""
    found = rows(conn, """
        SELECT cc.status_index, c.statements, c.revoked_at, e.list_code
        FROM certificate_credentials cc
        JOIN certificates c ON c.id = cc.certificate_id
        LEFT JOIN entries e ON e.id_number = c.id_number AND """ + _BLACKLIST + """
            AND """ + _ACTIVE + """
        WHERE cc.status_list = :list AND c.expires_at > :now""",
                 list=list_id, now=now, today=today)
    invalid = set()
    for row in found:
        active = [{"list_code": row["list_code"]}] if row["list_code"] else []
        if row["revoked_at"] or any(statements.contradicting(code, active)
                                    for code in statements.decode(row["statements"])):
            invalid.add(row["status_index"])
    return invalid


def save_status_token(conn: Connection, list_id: str, token: str, made_at: str) -> None:
    execute(conn, """UPDATE certificate_status_lists SET token = :token, token_made_at = :at
                     WHERE id = :id""", token=token, at=made_at, id=list_id)


def expire_status_tokens(conn: Connection, *, certificate_id: str | None = None,
                         id_number: str | None = None) -> None:
    """Drop the cached token of the lists holding this certificate's (or this resident's)
    credential, so the next request makes a list that knows the change."""
    execute(conn, """UPDATE certificate_status_lists SET token = NULL WHERE id IN (
                         SELECT cc.status_list FROM certificate_credentials cc
                         JOIN certificates c ON c.id = cc.certificate_id
                         WHERE c.id = :certificate_id OR c.id_number = :id_number)""",
            certificate_id=certificate_id, id_number=id_number)
