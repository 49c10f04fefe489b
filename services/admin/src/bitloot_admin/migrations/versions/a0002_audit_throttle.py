"""Admin: the audit names each action's target and outcome; login throttling per client.

Revision ID: a0002
Revises: a0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a0002"
down_revision: str | None = "a0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("admin_audit", sa.Column("target", sa.Text(), nullable=True))
    op.add_column(
        "admin_audit", sa.Column("outcome", sa.Text(), nullable=False, server_default="ok")
    )
    op.create_index("admin_audit_at", "admin_audit", ["at"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_index("admin_audit_at", table_name="admin_audit")
    op.drop_column("admin_audit", "outcome")
    op.drop_column("admin_audit", "target")
