"""Webhook log retention: the audit of what retention deleted, and the index its cut-off
queries use (candidates by authentication and age).

Revision ID: g0008
Revises: g0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0008"
down_revision: str | None = "g0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "swept_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
    )
    op.create_index("ix_webhook_log_retention", "webhook_log", ["authenticated", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_log_retention", table_name="webhook_log")
    op.drop_table("retention_log")
