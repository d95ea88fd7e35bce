"""Server-side sessions, so signing out (or a password change, or disabling an account)
ends a session everywhere at once; audit log indexes whose cost does not grow with the
log (a resident's "Who looked" page, the viewer's list of actions).

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT = sa.Text()


def upgrade() -> None:
    # `id` is the SHA-256 of the token the cookie carries: a copy of this table signs
    # nobody in.
    op.create_table(
        "account_sessions",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("account_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("created_at", TEXT, nullable=False),
        sa.Column("last_seen_at", TEXT, nullable=False),
        sqlite_strict=True,
    )
    op.create_index("idx_account_sessions_account_id", "account_sessions", ["account_id"])
    op.create_index("idx_audit_log_subject_seq", "audit_log", ["subject", "seq"])
    op.drop_index("idx_audit_log_subject", "audit_log")
    op.create_index("idx_audit_log_action", "audit_log", ["action"])


def downgrade() -> None:
    op.drop_index("idx_audit_log_action", "audit_log")
    op.create_index("idx_audit_log_subject", "audit_log", ["subject"])
    op.drop_index("idx_audit_log_subject_seq", "audit_log")
    op.drop_table("account_sessions")
