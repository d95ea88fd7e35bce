"""Tables owned by the certificates capability, as a sqlite-utils Migrations set applied after
the core schema (see credit_self.db.migrate). Never change a shipped migration."""
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("credit_self.certificates")


@migrations()
def m001_certificates(db: Database) -> None:
    # `id` is random and unguessable (secrets.token_urlsafe): it is the only thing a
    # token names, and it appears in the resident's own URLs.
    db.table("certificates").create(
        {
            "id": str,
            "id_number": str,
            "purpose": str,
            "audience": str,
            "issued_at": str,
            "expires_at": str,
            "revoked_at": str,
        },
        pk="id",
        not_null={"id_number", "purpose", "issued_at", "expires_at"},
        foreign_keys=[("id_number", "residents", "id_number")],
        strict=True,
    )
    db.table("certificates").create_index(["id_number", "issued_at"])
    # One row per verification of a genuine token naming a known certificate; `verdict`
    # is the exact reason (valid, expired, revoked, restricted), never shown to verifiers.
    db.table("certificate_scans").create(
        {
            "id": int,
            "certificate_id": str,
            "at": str,
            "verdict": str,
            "browser_family": str,
        },
        pk="id",
        not_null={"certificate_id", "at", "verdict", "browser_family"},
        foreign_keys=[("certificate_id", "certificates", "id")],
        strict=True,
    )
    db.table("certificate_scans").create_index(["certificate_id", "at"])


@migrations()
def m002_scan_refs(db: Database) -> None:
    # Scans reach the table in batches from each process's journal (scan_log.py);
    # the journal line's reference makes folding the same journal twice harmless.
    db.table("certificate_scans").add_column("ref", str)
    db.table("certificate_scans").create_index(["ref"], unique=True)
