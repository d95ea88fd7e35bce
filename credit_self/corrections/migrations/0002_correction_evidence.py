"""Evidence files of corrections: what was uploaded, by whom; the bytes live on disk.

Revision ID: corrections_0002
Revises: corrections_0001
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "corrections_0002"
down_revision = "corrections_0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT, INT = sa.Text(), sa.Integer()


def upgrade() -> None:
    # One row per uploaded file. `correction_id` is null while the file belongs to the
    # resident's filing draft (for `entry_id`); sending the correction fills it in.
    # `file_id` is the random name of the file under the evidence folder (never a name
    # the resident chose); `filename` is only shown and offered when downloading.
    op.create_table(
        "correction_evidence",
        sa.Column("id", ID, primary_key=True),
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number"), nullable=False),
        sa.Column("entry_id", ID, sa.ForeignKey("entries.id"), nullable=False),
        sa.Column("correction_id", ID, sa.ForeignKey("corrections.id")),
        sa.Column("file_id", TEXT, nullable=False),
        sa.Column("filename", TEXT, nullable=False),
        sa.Column("content_type", TEXT, nullable=False),
        sa.Column("size", INT, nullable=False),
        sa.Column("sha256", TEXT, nullable=False),
        sa.Column("uploaded_at", TEXT, nullable=False),
        sqlite_strict=True,
    )
    op.create_index("idx_correction_evidence_file_id", "correction_evidence", ["file_id"],
                    unique=True)
    op.create_index("idx_correction_evidence_correction_id", "correction_evidence",
                    ["correction_id"])
    op.create_index("idx_correction_evidence_id_number_entry_id", "correction_evidence",
                    ["id_number", "entry_id"])


def downgrade() -> None:
    op.drop_table("correction_evidence")
