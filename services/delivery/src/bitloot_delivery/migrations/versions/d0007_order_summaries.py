"""Delivery: order summaries (products, amount) from payment.finished, for the key email
and the reveal page, which named no product (issue #21).

Revision ID: d0007
Revises: d0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d0007"
down_revision: str | None = "d0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_summaries",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("summary", postgresql.JSONB(), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


def downgrade() -> None:
    op.drop_table("order_summaries")
