"""Pilots: status history; closed_at and purged_at drive erasure after closing.

Revision ID: pilots_0001
Revises:
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "pilots_0001"
down_revision = None
branch_labels = ("pilots",)
depends_on = "core_0001"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT = sa.Text()


def upgrade() -> None:
    # Every pause/resume/close with who, when and why.
    op.create_table(
        "pilot_status_history",
        sa.Column("id", ID, primary_key=True),
        sa.Column("pilot_code", TEXT, sa.ForeignKey("pilots.code"), nullable=False),
        sa.Column("old_status", TEXT, nullable=False),
        sa.Column("new_status", TEXT, nullable=False),
        sa.Column("at", TEXT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        sa.Column("reason", TEXT, nullable=False),
        sqlite_strict=True,
    )
    op.create_index("idx_pilot_status_history_pilot_code", "pilot_status_history",
                    ["pilot_code"])
    op.add_column("pilots", sa.Column("closed_at", TEXT))
    op.add_column("pilots", sa.Column("purged_at", TEXT))
    # Figures for the admin console: enrolled / opted out counts, events this month.
    op.create_index("idx_enrolments_pilot_code_state", "enrolments", ["pilot_code", "state"])
    op.create_index("idx_score_events_pilot_code_recorded_at", "score_events",
                    ["pilot_code", "recorded_at"])


def downgrade() -> None:
    raise NotImplementedError("The baseline is not reversible: restore a backup instead.")
