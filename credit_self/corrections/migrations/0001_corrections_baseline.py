"""Corrections, their timeline, the inbox and filing drafts.

Revision ID: corrections_0001
Revises:
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "corrections_0001"
down_revision = None
branch_labels = ("corrections",)
depends_on = "core_0001"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT, INT = sa.Text(), sa.Integer()


def upgrade() -> None:
    # One row per objection or credit-repair application. `due_by` is the date (China
    # time) by which a decision is due; forwarding to the source agency moves it.
    op.create_table(
        "corrections",
        sa.Column("id", ID, primary_key=True),
        sa.Column("reference", TEXT, nullable=False),
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number"), nullable=False),
        sa.Column("entry_id", ID, sa.ForeignKey("entries.id"), nullable=False),
        sa.Column("kind", TEXT, nullable=False),  # objection | restoration
        sa.Column("category", TEXT),
        sa.Column("statement", TEXT, nullable=False),
        sa.Column("evidence", TEXT),
        sa.Column("commitment", INT),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("filed_at", TEXT, nullable=False),
        sa.Column("due_by", TEXT, nullable=False),
        sa.Column("forward_by", TEXT),
        sa.Column("forwarded_at", TEXT),
        sa.Column("agency_answer", TEXT),
        sa.Column("decided_at", TEXT),
        sa.Column("decided_by", TEXT),
        sa.Column("decision_action", TEXT),
        sa.Column("decision_note", TEXT),
        sa.Column("updated_at", TEXT, nullable=False),
        sqlite_strict=True,
    )
    op.create_index("idx_corrections_reference", "corrections", ["reference"], unique=True)
    op.create_index("idx_corrections_id_number", "corrections", ["id_number"])
    op.create_index("idx_corrections_entry_id", "corrections", ["entry_id"])
    op.create_index("idx_corrections_status_due_by", "corrections", ["status", "due_by"])
    # The timeline: every change of a correction, in order, never edited.
    op.create_table(
        "correction_events",
        sa.Column("id", ID, primary_key=True),
        sa.Column("correction_id", ID, sa.ForeignKey("corrections.id"), nullable=False),
        sa.Column("at", TEXT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        sa.Column("event", TEXT, nullable=False),
        sa.Column("note", TEXT),
        sqlite_strict=True,
    )
    op.create_index("idx_correction_events_correction_id", "correction_events",
                    ["correction_id"])
    # In-app inbox. Text is rendered in the reader's language from `kind` + `params`;
    # `dedupe_key` makes lazily generated messages (expiry warnings) idempotent.
    op.create_table(
        "inbox_messages",
        sa.Column("id", ID, primary_key=True),
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number"), nullable=False),
        sa.Column("at", TEXT, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("correction_id", ID),
        sa.Column("entry_id", ID),
        sa.Column("params", TEXT, nullable=False),  # JSON
        sa.Column("dedupe_key", TEXT),
        sa.Column("read_at", TEXT),
        sqlite_strict=True,
    )
    op.create_index("idx_inbox_messages_id_number_read_at", "inbox_messages",
                    ["id_number", "read_at"])
    op.create_index("idx_inbox_messages_dedupe_key", "inbox_messages", ["dedupe_key"],
                    unique=True)
    # Which correction caused a change of an entry (null for imports and the seed).
    op.add_column("entry_history", sa.Column("correction_id", ID))
    # The filing flow's answers between "Continue" and "Send", kept on the server (4,000
    # Chinese characters would far exceed a browser's 4 KB cookie). One per resident.
    op.create_table(
        "correction_drafts",
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number"), primary_key=True),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("answers", TEXT, nullable=False),
        sa.Column("saved_at", TEXT, nullable=False),
        sqlite_strict=True,
    )


def downgrade() -> None:
    raise NotImplementedError("The baseline is not reversible: restore a backup instead.")
