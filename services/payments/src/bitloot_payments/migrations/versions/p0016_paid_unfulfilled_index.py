"""A partial index on the paid orders fulfillment has not ended, by when they were paid:
the metrics count them and age the oldest before every scrape, which must not scan the
orders table (bitloot_orders_paid_unfulfilled, bitloot_oldest_paid_unfulfilled_seconds).

Revision ID: p0016
Revises: p0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0016"
down_revision: str | None = "p0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAID_UNFULFILLED = (
    "status = 'paid' AND (fulfilment_state IS NULL"
    " OR fulfilment_state NOT IN ('fulfilled', 'failed', 'refunded'))"
)


def upgrade() -> None:
    op.create_index(
        "ix_orders_paid_unfulfilled",
        "orders",
        ["paid_at"],
        postgresql_where=sa.text(PAID_UNFULFILLED),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_paid_unfulfilled", table_name="orders")
