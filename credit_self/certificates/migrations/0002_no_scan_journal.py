"""Scans are written by the request that verifies: the journal's reference goes.

Revision ID: certificates_0002
Revises: certificates_0001
Create Date: 2026-12-03
"""
from alembic import op

revision = "certificates_0002"
down_revision = "certificates_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("idx_certificate_scans_ref", "certificate_scans")
    op.drop_column("certificate_scans", "ref")


def downgrade() -> None:
    raise NotImplementedError("Restore a backup instead.")
