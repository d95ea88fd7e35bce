"""Entries may carry a notice period: `publish_on`, the day a department's listing takes
effect (NULL: it takes effect on `listed_on`).

Revision ID: records_0001
Revises:
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "records_0001"
down_revision = None
branch_labels = ("records",)
depends_on = "core_0001"


def upgrade() -> None:
    op.add_column("entries", sa.Column("publish_on", sa.Text()))


def downgrade() -> None:
    op.drop_column("entries", "publish_on")
