"""Kinguin gateway: one key-return request per Kinguin order, recorded before it is sent.

Kinguin accepts a single return request per order (features/ReturnKeys.md): the row is
the proof that we asked (or decided not to), and what came of it, for an admin.

Revision ID: g0005
Revises: g0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0005"
down_revision: str | None = "g0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_returns",
        sa.Column("kinguin_order_id", sa.Text(), primary_key=True),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("key_count", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_key_returns_order_id", "key_returns", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_key_returns_order_id", table_name="key_returns")
    op.drop_table("key_returns")
