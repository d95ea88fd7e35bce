"""Special credit reports: the statements a certificate makes, verifiers' declarations in
the scan log, and offline credentials with their status lists.

Revision ID: certificates_0003
Revises: certificates_0002
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "certificates_0003"
down_revision = "certificates_0002"
branch_labels = None
depends_on = None

TEXT = sa.Text()


def upgrade() -> None:
    # Space-separated statement codes (certificates/statements.py). Every certificate
    # made before this stated "no active restrictions": the preset `no_blacklist`.
    op.add_column("certificates", sa.Column("statements", TEXT, nullable=False,
                                            server_default="no_blacklist"))
    # What a verifier chose to tell the holder (optional, at most 80 characters each).
    op.add_column("certificate_scans", sa.Column("declared_who", TEXT))
    op.add_column("certificate_scans", sa.Column("declared_why", TEXT))
    # One Token Status List each; `token` is the latest signed list, made at
    # `token_made_at` and emptied when a bit in it changes, so the next request remakes it.
    op.create_table(
        "certificate_status_lists",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", TEXT, nullable=False),
        sa.Column("token", TEXT),
        sa.Column("token_made_at", TEXT),
        sqlite_strict=True,
    )
    # An offline certificate's SD-JWT VC, as issued, and its place in a status list
    # (a random index, so neighbouring certificates say nothing about each other).
    op.create_table(
        "certificate_credentials",
        sa.Column("certificate_id", TEXT, sa.ForeignKey("certificates.id"), primary_key=True),
        sa.Column("status_list", TEXT, sa.ForeignKey("certificate_status_lists.id"),
                  nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("credential", TEXT, nullable=False),
        sqlite_strict=True,
    )
    op.create_index("idx_certificate_credentials_status", "certificate_credentials",
                    ["status_list", "status_index"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("Restore a backup instead.")
