"""Signed checkpoints of the audit log: the chain's head at a moment, signed with an
Ed25519 key kept outside the database (credit_self.audit_keys), so a log rewritten or cut
short behind a checkpoint no longer verifies.

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "core_0005"
down_revision = "core_0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT = sa.Text()


def upgrade() -> None:
    # `id` counts checkpoints 1, 2, 3 ... (assigned under the chain's lock, and signed),
    # so a checkpoint removed from the middle leaves a gap anyone can see.
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", ID, primary_key=True, autoincrement=False),
        sa.Column("seq", ID, nullable=False),
        sa.Column("head_hash", TEXT, nullable=False),
        sa.Column("created_at", TEXT, nullable=False),
        sa.Column("key_id", TEXT, nullable=False),
        sa.Column("signature", TEXT, nullable=False),
        sqlite_strict=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'audit_checkpoints is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE "
            "ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only()"
        )
    else:
        for event in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER audit_checkpoints_no_{event} BEFORE {event.upper()} "
                "ON audit_checkpoints "
                "BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_checkpoints_append_only()")
