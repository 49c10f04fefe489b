"""Admin: roles, disabled accounts, revocable sessions and the TOTP second factor.

Every admin that existed before roles becomes an owner: until now each could do
everything, and an owner can hand out the narrower roles.

Revision ID: a0004
Revises: a0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0004"
down_revision: str | None = "a0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("admins", sa.Column("role", sa.Text(), nullable=False, server_default="owner"))
    op.alter_column("admins", "role", server_default=None)
    op.create_check_constraint("admins_role", "admins", "role IN ('viewer', 'operator', 'owner')")
    op.add_column("admins", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "admins",
        sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("admins", sa.Column("totp_secret", sa.Text(), nullable=True))
    op.add_column("admins", sa.Column("totp_pending_secret", sa.Text(), nullable=True))
    op.add_column("admins", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "admin_revoked_sessions",
        sa.Column("session_id", sa.Uuid(), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("admin_revoked_sessions_expires_at", "admin_revoked_sessions", ["expires_at"])
    op.create_table(
        "admin_recovery_codes",
        sa.Column(
            "username",
            sa.Text(),
            sa.ForeignKey("admins.username", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("code_hash", sa.Text(), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("admin_recovery_codes")
    op.drop_index("admin_revoked_sessions_expires_at", table_name="admin_revoked_sessions")
    op.drop_table("admin_revoked_sessions")
    for column in (
        "totp_last_step",
        "totp_pending_secret",
        "totp_secret",
        "session_generation",
        "disabled_at",
    ):
        op.drop_column("admins", column)
    op.drop_constraint("admins_role", "admins", type_="check")
    op.drop_column("admins", "role")
