"""Accounts only their owner can take: each resident's mobile number in the register,
the text messages sent to it, one-time codes for activation and recovery, and growing
delays after failed attempts (per login and per client address) instead of a lock.

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT, INT = sa.Text(), sa.Integer()


def upgrade() -> None:
    # The register held only a masked number; it now holds the whole one (codes are sent
    # to it). Registers made before this get the four hidden digits from their ID
    # number: the population is simulated either way.
    op.execute("ALTER TABLE residents RENAME COLUMN phone_masked TO phone")
    op.execute("UPDATE residents SET phone = substr(phone, 1, 3) || substr(id_number, 11, 4) "
               "|| substr(phone, 8, 4) WHERE phone LIKE '%****%'")

    # What the `outbox` sender "sent" (sms.py): demos and tests read codes from here.
    op.create_table(
        "sms_outbox",
        sa.Column("id", ID, primary_key=True),
        sa.Column("phone", TEXT, nullable=False),
        sa.Column("text", TEXT, nullable=False),
        sa.Column("created_at", TEXT, nullable=False),
        sqlite_strict=True,
    )
    op.create_index("idx_sms_outbox_phone", "sms_outbox", ["phone"])

    # One row per activation or recovery under way in one browser. `id` is the SHA-256
    # of the token that browser's session holds; `code_hash` an HMAC of the code under
    # the app's secret key, so a copy of the table reveals no code.
    op.create_table(
        "one_time_codes",
        sa.Column("id", TEXT, primary_key=True),
        sa.Column("id_number", TEXT, sa.ForeignKey("residents.id_number"), nullable=False),
        sa.Column("purpose", TEXT, nullable=False),
        sa.Column("code_hash", TEXT, nullable=False),
        sa.Column("created_at", TEXT, nullable=False),
        sa.Column("sent_at", TEXT, nullable=False),
        sa.Column("expires_at", TEXT, nullable=False),
        sa.Column("tries", INT, nullable=False, server_default="0"),
        sa.Column("verified_at", TEXT),
        sqlite_strict=True,
    )
    op.create_index("idx_one_time_codes_id_number", "one_time_codes", ["id_number"])
    op.create_index("idx_one_time_codes_expires_at", "one_time_codes", ["expires_at"])

    # Failed attempts per key ("login:<login>" or "address:<client address>"): the next
    # attempt waits until `retry_at`. Replaces the lock a stranger could renew at will.
    op.drop_table("login_throttle")
    op.create_table(
        "failed_attempts",
        sa.Column("key", TEXT, primary_key=True),
        sa.Column("failures", INT, nullable=False, server_default="0"),
        sa.Column("retry_at", TEXT),
        sa.Column("last_failure_at", TEXT, nullable=False),
        sqlite_strict=True,
    )
    op.create_index("idx_failed_attempts_last_failure_at", "failed_attempts",
                    ["last_failure_at"])


def downgrade() -> None:
    op.drop_table("failed_attempts")
    op.create_table(
        "login_throttle",
        sa.Column("login", TEXT, primary_key=True),
        sa.Column("failures", INT, nullable=False, server_default="0"),
        sa.Column("locked_until", TEXT),
        sa.Column("last_failure_at", TEXT),
        sqlite_strict=True,
    )
    op.drop_table("one_time_codes")
    op.drop_table("sms_outbox")
    op.execute("UPDATE residents SET phone = substr(phone, 1, 3) || '****' || substr(phone, 8, 4)")
    op.execute("ALTER TABLE residents RENAME COLUMN phone TO phone_masked")
