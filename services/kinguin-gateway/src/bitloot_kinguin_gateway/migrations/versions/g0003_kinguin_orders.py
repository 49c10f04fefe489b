"""Kinguin gateway: every orderExternalId of an order, and the reservation's attempt.

A retry after an attempt that bought nothing (or whose Kinguin order was canceled)
places a new Kinguin order under a new external id; each is recorded before it is used.
Existing reservations are attempt 1, under our order id.

Revision ID: g0003
Revises: g0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0003"
down_revision: str | None = "g0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "reservations",
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    op.create_table(
        "kinguin_orders",
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("kinguin_order_id", sa.Text(), nullable=True, unique=True),
        sa.Column("kinguin_status", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("external_id"),
        sa.UniqueConstraint("order_id", "attempt", name="uq_kinguin_orders_order_attempt"),
    )
    op.execute(
        "INSERT INTO kinguin_orders (external_id, order_id, attempt, kinguin_order_id,"
        " kinguin_status, created_at)"
        " SELECT order_id::text, order_id, 1, kinguin_order_id, kinguin_status, created_at"
        " FROM reservations"
    )


def downgrade() -> None:
    op.drop_table("kinguin_orders")
    op.drop_column("reservations", "attempt")
