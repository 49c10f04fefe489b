"""The fulfillment saga's latest state, heard from order.status_changed, so the order page
tells the customer the same story as the live status.

Revision ID: p0007
Revises: p0006
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0007"
down_revision: str | None = "p0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("fulfilment_state", sa.Text(), nullable=True))
    op.add_column("orders", sa.Column("fulfilment_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "fulfilment_at")
    op.drop_column("orders", "fulfilment_state")
