"""List imports: one batch per uploaded feed, its rows kept server-side until confirmed.

Revision ID: transparency_0001
Revises:
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "transparency_0001"
down_revision = None
branch_labels = ("transparency",)
depends_on = "core_0001"

TEXT, INT = sa.Text(), sa.Integer()


def upgrade() -> None:
    # The id is random and unguessable: the validation result page is addressed by it.
    op.create_table(
        "import_batches",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("list_code", TEXT, nullable=False),
        sa.Column("filename", TEXT),
        sa.Column("created_at", TEXT, nullable=False),
        sa.Column("created_by", TEXT, nullable=False),
        sa.Column("total_rows", INT, nullable=False),
        sa.Column("valid_rows", INT, nullable=False),
        sa.Column("status", TEXT, nullable=False),  # validated, imported
        sa.Column("imported_at", TEXT),
        sa.Column("imported_by", TEXT),
        sa.Column("inserted", INT),
        sa.Column("updated", INT),
        sa.Column("unchanged", INT),
        sa.Column("skipped", INT),
        sqlite_strict=True,
    )
    op.create_table(
        "import_rows",
        sa.Column("batch_id", TEXT, sa.ForeignKey("import_batches.id"), primary_key=True),
        sa.Column("row_no", INT, primary_key=True, autoincrement=False),
        sa.Column("data", TEXT, nullable=False),  # the CSV row as JSON
        sa.Column("errors", TEXT, nullable=False),  # JSON list of rejection codes
        sqlite_strict=True,
    )


def downgrade() -> None:
    raise NotImplementedError("The baseline is not reversible: restore a backup instead.")
