"""Core schema: register, accounts, catalog, entries, pilots, audit log.

The schema as the sqlite-utils migrations left it (credit_self.migrations m001-m007), so
an embedded database made before Alembic is adopted by stamping this revision (see
credit_self.schema.adopt_legacy_sqlite). Never change a revision that has shipped: add
a new one.

Revision ID: core_0001
Revises:
Create Date: 2026-12-03
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None

# 64-bit ids on PostgreSQL; on SQLite the INTEGER PRIMARY KEY (rowid) is already 64-bit,
# and a STRICT table accepts only INTEGER.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT, INT = sa.Text(), sa.Integer()
STRICT = {"sqlite_strict": True}


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("id_number", TEXT, primary_key=True),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("birth_date", TEXT, nullable=False),
        sa.Column("sex", TEXT, nullable=False),
        sa.Column("region_code", TEXT, nullable=False),
        sa.Column("phone_masked", TEXT),
        **STRICT,
    )
    op.create_index("idx_residents_name", "residents", ["name"])
    op.create_table(
        "accounts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("login", TEXT, nullable=False),
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number")),
        sa.Column("password_hash", TEXT, nullable=False),
        sa.Column("role", TEXT, nullable=False),
        sa.Column("pilot_code", TEXT),
        sa.Column("display_name", TEXT),
        sa.Column("activated_at", TEXT, nullable=False),
        sa.Column("disabled_at", TEXT),
        **STRICT,
    )
    op.create_index("idx_accounts_login", "accounts", ["login"], unique=True)
    op.create_index("idx_accounts_id_number", "accounts", ["id_number"], unique=True)
    # Failed sign-ins are counted per login typed, whether or not an account exists.
    op.create_table(
        "login_throttle",
        sa.Column("login", TEXT, primary_key=True),
        sa.Column("failures", INT, nullable=False, server_default="0"),
        sa.Column("locked_until", TEXT),
        sa.Column("last_failure_at", TEXT),
        **STRICT,
    )

    op.create_table(
        "lists",
        sa.Column("code", TEXT, primary_key=True),
        sa.Column("name_en", TEXT, nullable=False),
        sa.Column("name_zh", TEXT, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("authority_en", TEXT, nullable=False),
        sa.Column("authority_zh", TEXT, nullable=False),
        sa.Column("legal_basis_en", TEXT),
        sa.Column("legal_basis_zh", TEXT),
        sa.Column("default_days", INT),
        sa.Column("restoration_en", TEXT),
        sa.Column("restoration_zh", TEXT),
        sa.Column("restoration_min_days", INT),
        **STRICT,
    )
    op.create_table(
        "sanctions",
        sa.Column("code", TEXT, primary_key=True),
        sa.Column("description_en", TEXT, nullable=False),
        sa.Column("description_zh", TEXT, nullable=False),
        sa.Column("legal_basis_en", TEXT),
        sa.Column("legal_basis_zh", TEXT),
        **STRICT,
    )
    op.create_table(
        "list_sanctions",
        sa.Column("list_code", TEXT, sa.ForeignKey("lists.code"), primary_key=True),
        sa.Column("sanction_code", TEXT, sa.ForeignKey("sanctions.code"), primary_key=True),
        **STRICT,
    )
    # Official calendar for working-day deadlines: "holiday" (a day off) or "workday"
    # (a weekend day made a working day to bridge a holiday).
    op.create_table(
        "holidays",
        sa.Column("day", TEXT, primary_key=True),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("name_en", TEXT),
        sa.Column("name_zh", TEXT),
        **STRICT,
    )

    op.create_table(
        "entries",
        sa.Column("id", ID, primary_key=True),
        sa.Column("list_code", TEXT, sa.ForeignKey("lists.code"), nullable=False),
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number"), nullable=False),
        sa.Column("recorded_name", TEXT),
        sa.Column("recorded_sex", TEXT),
        sa.Column("recorded_birth_year", INT),
        sa.Column("recorded_region_code", TEXT),
        sa.Column("tier", TEXT, nullable=False),
        sa.Column("facts_en", TEXT),
        sa.Column("facts_zh", TEXT),
        sa.Column("document_no", TEXT, nullable=False),
        sa.Column("source_agency_en", TEXT),
        sa.Column("source_agency_zh", TEXT),
        sa.Column("listed_on", TEXT, nullable=False),
        sa.Column("expires_on", TEXT),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("updated_at", TEXT),
        **STRICT,
    )
    op.create_index("idx_entries_id_number", "entries", ["id_number"])
    # A department's document number identifies an entry on its list (imports use it).
    op.create_index("idx_entries_list_code_document_no", "entries",
                    ["list_code", "document_no"], unique=True)
    op.create_table(
        "entry_history",
        sa.Column("id", ID, primary_key=True),
        sa.Column("entry_id", ID, sa.ForeignKey("entries.id"), nullable=False),
        sa.Column("at", TEXT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        sa.Column("field", TEXT, nullable=False),
        sa.Column("old_value", TEXT),
        sa.Column("new_value", TEXT),
        sa.Column("reason", TEXT),
        **STRICT,
    )
    op.create_index("idx_entry_history_entry_id", "entry_history", ["entry_id"])

    op.create_table(
        "pilots",
        sa.Column("code", TEXT, primary_key=True),
        sa.Column("name_en", TEXT, nullable=False),
        sa.Column("name_zh", TEXT, nullable=False),
        sa.Column("region_code", TEXT, nullable=False),
        sa.Column("operator_en", TEXT),
        sa.Column("operator_zh", TEXT),
        sa.Column("legal_basis_en", TEXT),
        sa.Column("legal_basis_zh", TEXT),
        sa.Column("base_score", INT, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("grade_bands", TEXT),
        sa.Column("rules", TEXT),
        sa.Column("bands_illustrative", INT),
        **STRICT,
    )
    op.create_table(
        "enrolments",
        sa.Column("pilot_code", TEXT, sa.ForeignKey("pilots.code"), primary_key=True),
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number"), primary_key=True),
        sa.Column("state", TEXT, nullable=False),
        sa.Column("changed_at", TEXT, nullable=False),
        **STRICT,
    )
    op.create_table(
        "enrolment_history",
        sa.Column("id", ID, primary_key=True),
        sa.Column("pilot_code", TEXT, nullable=False),
        sa.Column("id_number", TEXT, nullable=False),
        sa.Column("old_state", TEXT),
        sa.Column("new_state", TEXT, nullable=False),
        sa.Column("at", TEXT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        sa.Column("note", TEXT),
        **STRICT,
    )
    op.create_index("idx_enrolment_history_id_number", "enrolment_history", ["id_number"])
    op.create_table(
        "score_events",
        sa.Column("id", ID, primary_key=True),
        sa.Column("pilot_code", TEXT, sa.ForeignKey("pilots.code"), nullable=False),
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number"), nullable=False),
        sa.Column("event_type", TEXT, nullable=False),
        sa.Column("delta", INT, nullable=False),
        sa.Column("reason", TEXT),
        sa.Column("source", TEXT),
        sa.Column("occurred_on", TEXT, nullable=False),
        sa.Column("recorded_at", TEXT),
        **STRICT,
    )
    op.create_index("idx_score_events_pilot_code_id_number", "score_events",
                    ["pilot_code", "id_number"])

    op.create_table(
        "audit_log",
        sa.Column("seq", ID, primary_key=True, autoincrement=False),
        sa.Column("at", TEXT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        sa.Column("action", TEXT, nullable=False),
        sa.Column("subject", TEXT),
        sa.Column("detail", TEXT),
        sa.Column("prev_hash", TEXT, nullable=False),
        sa.Column("hash", TEXT, nullable=False),
        **STRICT,
    )
    op.create_index("idx_audit_log_subject", "audit_log", ["subject"])

    # A random token that changes with every write to the catalog tables, so each
    # process can keep the catalog in memory and notice a change (see catalog.py).
    op.create_table(
        "catalog_token",
        sa.Column("id", INT, sa.CheckConstraint("id = 1"), primary_key=True,
                  autoincrement=False),
        sa.Column("token", TEXT, nullable=False),
    )
    op.execute(sa.text("INSERT INTO catalog_token (id, token) VALUES (1, :token)")
               .bindparams(token=secrets.token_hex(16)))

    if op.get_bind().dialect.name == "postgresql":
        _postgresql_guards()
    else:
        _sqlite_guards()


def _sqlite_guards() -> None:
    # Append-only: the database itself refuses edits and deletions of audit rows.
    for event in ("update", "delete"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{event} BEFORE {event.upper()} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    for table in ("lists", "sanctions", "list_sanctions"):
        for event in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_{event}_new_catalog_token AFTER {event.upper()} "
                f"ON {table} BEGIN UPDATE catalog_token SET token = lower(hex(randomblob(16))); END"
            )


def _postgresql_guards() -> None:
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE FUNCTION new_catalog_token() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN UPDATE catalog_token SET token = md5(random()::text || clock_timestamp()::text); "
        "RETURN NULL; END $$"
    )
    for table in ("lists", "sanctions", "list_sanctions"):
        op.execute(
            f"CREATE TRIGGER {table}_new_catalog_token "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION new_catalog_token()"
        )


def downgrade() -> None:
    raise NotImplementedError("The baseline is not reversible: restore a backup instead.")
