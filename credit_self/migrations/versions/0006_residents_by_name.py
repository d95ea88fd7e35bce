"""Residents by name in ID-number order: the seed's namesake lookup (`WHERE name = ...
ORDER BY id_number LIMIT 5`) reads five index entries instead of sorting every resident
of a common name (about 75,000 called 张伟 among 25 million).

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-03
"""
from alembic import op

revision = "core_0006"
down_revision = "core_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("idx_residents_name", table_name="residents")
    op.create_index("idx_residents_name", "residents", ["name", "id_number"])


def downgrade() -> None:
    op.drop_index("idx_residents_name", table_name="residents")
    op.create_index("idx_residents_name", "residents", ["name"])
