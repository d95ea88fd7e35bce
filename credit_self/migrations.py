"""The schema, as ordered sqlite-utils migrations.

Never change a migration that has shipped: add a new one. Every table is STRICT so a
wrong type is an error, not a silently stored string.
"""
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("credit_self")


@migrations(transactional=False)
def m001_wal(db: Database) -> None:
    # WAL lets readers (every page view) run while one writer commits.
    db.enable_wal()


@migrations()
def m002_register_and_accounts(db: Database) -> None:
    db.table("residents").create(
        {
            "id_number": str,
            "name": str,
            "birth_date": str,
            "sex": str,
            "region_code": str,
            "phone_masked": str,
        },
        pk="id_number",
        not_null={"name", "birth_date", "sex", "region_code"},
        strict=True,
    )
    db.table("residents").create_index(["name"])
    db.table("accounts").create(
        {
            "id": int,
            "login": str,
            "id_number": str,
            "password_hash": str,
            "role": str,
            "pilot_code": str,
            "display_name": str,
            "activated_at": str,
            "disabled_at": str,
        },
        pk="id",
        not_null={"login", "password_hash", "role", "activated_at"},
        foreign_keys=[("id_number", "residents", "id_number")],
        strict=True,
    )
    db.table("accounts").create_index(["login"], unique=True)
    db.table("accounts").create_index(["id_number"], unique=True)
    # Failed sign-ins are counted per login typed, whether or not an account exists,
    # so a lockout message never reveals which ID numbers have accounts.
    db.table("login_throttle").create(
        {"login": str, "failures": int, "locked_until": str, "last_failure_at": str},
        pk="login",
        not_null={"failures"},
        defaults={"failures": 0},
        strict=True,
    )


@migrations()
def m003_catalog(db: Database) -> None:
    db.table("lists").create(
        {
            "code": str,
            "name_en": str,
            "name_zh": str,
            "kind": str,
            "authority_en": str,
            "authority_zh": str,
            "legal_basis_en": str,
            "legal_basis_zh": str,
            "default_days": int,
            "restoration_en": str,
            "restoration_zh": str,
            "restoration_min_days": int,
        },
        pk="code",
        not_null={"name_en", "name_zh", "kind", "authority_en", "authority_zh"},
        strict=True,
    )
    db.table("sanctions").create(
        {
            "code": str,
            "description_en": str,
            "description_zh": str,
            "legal_basis_en": str,
            "legal_basis_zh": str,
        },
        pk="code",
        not_null={"description_en", "description_zh"},
        strict=True,
    )
    db.table("list_sanctions").create(
        {"list_code": str, "sanction_code": str},
        pk=("list_code", "sanction_code"),
        foreign_keys=[
            ("list_code", "lists", "code"),
            ("sanction_code", "sanctions", "code"),
        ],
        strict=True,
    )
    # Official calendar for working-day deadlines: kind is "holiday" (a day off) or
    # "workday" (a weekend day made a working day to bridge a holiday).
    db.table("holidays").create(
        {"day": str, "kind": str, "name_en": str, "name_zh": str},
        pk="day",
        not_null={"kind"},
        strict=True,
    )


@migrations()
def m004_entries(db: Database) -> None:
    db.table("entries").create(
        {
            "id": int,
            "list_code": str,
            "id_number": str,
            "recorded_name": str,
            "recorded_sex": str,
            "recorded_birth_year": int,
            "recorded_region_code": str,
            "tier": str,
            "facts_en": str,
            "facts_zh": str,
            "document_no": str,
            "source_agency_en": str,
            "source_agency_zh": str,
            "listed_on": str,
            "expires_on": str,
            "status": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"list_code", "id_number", "tier", "document_no", "listed_on", "status"},
        foreign_keys=[
            ("list_code", "lists", "code"),
            ("id_number", "residents", "id_number"),
        ],
        strict=True,
    )
    db.table("entries").create_index(["id_number"])
    # A department's document number identifies an entry on its list (used by imports).
    db.table("entries").create_index(["list_code", "document_no"], unique=True)
    db.table("entry_history").create(
        {
            "id": int,
            "entry_id": int,
            "at": str,
            "actor": str,
            "field": str,
            "old_value": str,
            "new_value": str,
            "reason": str,
        },
        pk="id",
        not_null={"entry_id", "at", "actor", "field"},
        foreign_keys=[("entry_id", "entries", "id")],
        strict=True,
    )
    db.table("entry_history").create_index(["entry_id"])


@migrations()
def m005_pilots(db: Database) -> None:
    db.table("pilots").create(
        {
            "code": str,
            "name_en": str,
            "name_zh": str,
            "region_code": str,
            "operator_en": str,
            "operator_zh": str,
            "legal_basis_en": str,
            "legal_basis_zh": str,
            "base_score": int,
            "status": str,
            "grade_bands": str,
            "rules": str,
            "bands_illustrative": int,
        },
        pk="code",
        not_null={"name_en", "name_zh", "region_code", "base_score", "status"},
        strict=True,
    )
    db.table("enrolments").create(
        {"pilot_code": str, "id_number": str, "state": str, "changed_at": str},
        pk=("pilot_code", "id_number"),
        not_null={"state", "changed_at"},
        foreign_keys=[
            ("pilot_code", "pilots", "code"),
            ("id_number", "residents", "id_number"),
        ],
        strict=True,
    )
    db.table("enrolment_history").create(
        {
            "id": int,
            "pilot_code": str,
            "id_number": str,
            "old_state": str,
            "new_state": str,
            "at": str,
            "actor": str,
            "note": str,
        },
        pk="id",
        not_null={"pilot_code", "id_number", "new_state", "at", "actor"},
        strict=True,
    )
    db.table("enrolment_history").create_index(["id_number"])
    db.table("score_events").create(
        {
            "id": int,
            "pilot_code": str,
            "id_number": str,
            "event_type": str,
            "delta": int,
            "reason": str,
            "source": str,
            "occurred_on": str,
            "recorded_at": str,
        },
        pk="id",
        not_null={"pilot_code", "id_number", "event_type", "delta", "occurred_on"},
        foreign_keys=[
            ("pilot_code", "pilots", "code"),
            ("id_number", "residents", "id_number"),
        ],
        strict=True,
    )
    db.table("score_events").create_index(["pilot_code", "id_number"])


@migrations()
def m006_audit_log(db: Database) -> None:
    db.table("audit_log").create(
        {
            "seq": int,
            "at": str,
            "actor": str,
            "action": str,
            "subject": str,
            "detail": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="seq",
        not_null={"at", "actor", "action", "prev_hash", "hash"},
        strict=True,
    )
    db.table("audit_log").create_index(["subject"])
    # Append-only: the database itself refuses edits and deletions of audit rows.
    db.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )


@migrations()
def m007_catalog_token(db: Database) -> None:
    # A random token that changes with every write to the catalog tables, so each
    # process can keep the catalog in memory and notice a change (see catalog.py).
    db.execute(
        "CREATE TABLE catalog_token (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL)"
    )
    db.execute("INSERT INTO catalog_token (id, token) VALUES (1, lower(hex(randomblob(16))))")
    for table in ("lists", "sanctions", "list_sanctions"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_new_catalog_token AFTER {event} ON {table} "
                "BEGIN UPDATE catalog_token SET token = lower(hex(randomblob(16))); END"
            )
