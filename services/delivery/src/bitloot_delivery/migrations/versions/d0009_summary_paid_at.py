"""order_summaries.paid_at: when payments finished the order's payment (payment.finished's
occurred_at), the start of bitloot_time_to_key_seconds (payment finished, key email
accepted by the mail server). Nullable: summaries recorded before it have none, and are
not measured (issue #22).

Revision ID: d0009
Revises: d0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0009"
down_revision: str | None = "d0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "order_summaries", sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("order_summaries", "paid_at")
