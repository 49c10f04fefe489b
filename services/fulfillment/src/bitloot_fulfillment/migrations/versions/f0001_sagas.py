"""Fulfillment: the sagas table.

Revision ID: f0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("fulfillment",)
depends_on: str | Sequence[str] | None = "r0001"


def upgrade() -> None:
    op.create_table(
        "sagas",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_email", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("kinguin_order_id", sa.Text(), nullable=True),
        sa.Column("kinguin_status", sa.Text(), nullable=True),
        sa.Column("kinguin_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_stage", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def downgrade() -> None:
    op.drop_table("sagas")
