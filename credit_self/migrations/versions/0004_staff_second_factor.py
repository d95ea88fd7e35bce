"""Staff second factor: each staff account's TOTP secret (with the last time step used,
so a code is never accepted twice, and its own failed-code counter), and its one-time
recovery codes, stored hashed.

Only the accounts table of the baseline is needed, so this revision can follow any
other core revision.

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TEXT, INT = sa.Text(), sa.Integer()
STRICT = {"sqlite_strict": True}


def upgrade() -> None:
    # A row exists once the account has confirmed its authenticator app.
    op.create_table(
        "staff_totp",
        sa.Column("account_id", ID, sa.ForeignKey("accounts.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("secret", TEXT, nullable=False),
        sa.Column("enrolled_at", TEXT, nullable=False),
        # The 30-second step of the last code accepted: a code of that step or an
        # earlier one is refused (replay).
        sa.Column("last_step", INT),
        sa.Column("failures", INT, nullable=False, server_default="0"),
        sa.Column("locked_until", TEXT),
        **STRICT,
    )
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", ID, primary_key=True),
        sa.Column("account_id", ID, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("code_hash", TEXT, nullable=False),
        sa.Column("created_at", TEXT, nullable=False),
        sa.Column("used_at", TEXT),
        **STRICT,
    )
    op.create_index("idx_staff_recovery_codes_account_id_code_hash", "staff_recovery_codes",
                    ["account_id", "code_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("idx_staff_recovery_codes_account_id_code_hash", "staff_recovery_codes")
    op.drop_table("staff_recovery_codes")
    op.drop_table("staff_totp")
