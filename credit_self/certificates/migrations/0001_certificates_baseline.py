"""Certificates and their scan log.

Revision ID: certificates_0001
Revises:
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "certificates_0001"
down_revision = None
branch_labels = ("certificates",)
depends_on = "core_0001"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT = sa.Text()


def upgrade() -> None:
    # `id` is random and unguessable (secrets.token_urlsafe): it is the only thing a
    # token names, and it appears in the resident's own URLs.
    op.create_table(
        "certificates",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number"), nullable=False),
        sa.Column("purpose", TEXT, nullable=False),
        sa.Column("audience", TEXT),
        sa.Column("issued_at", TEXT, nullable=False),
        sa.Column("expires_at", TEXT, nullable=False),
        sa.Column("revoked_at", TEXT),
        sqlite_strict=True,
    )
    op.create_index("idx_certificates_id_number_issued_at", "certificates",
                    ["id_number", "issued_at"])
    # One row per verification of a genuine token naming a known certificate; `verdict`
    # is the exact reason (valid, expired, revoked, restricted), never shown to verifiers.
    # `ref` belonged to the per-process scan journal, removed in certificates_0002.
    op.create_table(
        "certificate_scans",
        sa.Column("id", ID, primary_key=True),
        sa.Column("certificate_id", TEXT, sa.ForeignKey("certificates.id"), nullable=False),
        sa.Column("at", TEXT, nullable=False),
        sa.Column("verdict", TEXT, nullable=False),
        sa.Column("browser_family", TEXT, nullable=False),
        sa.Column("ref", TEXT),
        sqlite_strict=True,
    )
    op.create_index("idx_certificate_scans_certificate_id_at", "certificate_scans",
                    ["certificate_id", "at"])
    op.create_index("idx_certificate_scans_ref", "certificate_scans", ["ref"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("The baseline is not reversible: restore a backup instead.")
