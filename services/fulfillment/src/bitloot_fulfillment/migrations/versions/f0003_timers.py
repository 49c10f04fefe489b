"""Fulfillment: the saga's recorded facts, and its durable timers.

Revision ID: f0003
Revises: f0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "f0003"
down_revision: str | None = "f0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.text("false"))


def upgrade() -> None:
    op.add_column("sagas", _flag("reservation_confirmed"))
    op.add_column("sagas", _flag("keys_left_gateway"))
    op.add_column("sagas", sa.Column("delivered_key_count", sa.Integer(), nullable=True))
    op.add_column("sagas", sa.Column("delivery_error", sa.Text(), nullable=True))
    op.add_column(
        "sagas",
        sa.Column("polls_sent", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column(
        "sagas",
        sa.Column("lines", JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    # Sagas past `reserving` before this revision had their reservation confirmed.
    op.execute(
        "UPDATE sagas SET reservation_confirmed = true "
        "WHERE state NOT IN ('paid', 'reserving') AND kinguin_order_id IS NOT NULL"
    )
    op.create_table(
        "saga_timers",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "kind", name="pk_saga_timers"),
    )
    op.create_index("ix_saga_timers_due", "saga_timers", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_saga_timers_due", "saga_timers")
    op.drop_table("saga_timers")
    for column in (
        "lines",
        "polls_sent",
        "delivery_error",
        "delivered_key_count",
        "keys_left_gateway",
        "reservation_confirmed",
    ):
        op.drop_column("sagas", column)
