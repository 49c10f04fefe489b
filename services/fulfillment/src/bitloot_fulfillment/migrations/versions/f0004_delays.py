"""Fulfillment: what the saga knows about preorders, and that the customer was told once
that Kinguin is late with a bought order.

Revision ID: f0004
Revises: f0003
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f0004"
down_revision: str | None = "f0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    false = sa.text("false")
    op.add_column(
        "sagas", sa.Column("is_preorder", sa.Boolean(), nullable=False, server_default=false)
    )
    op.add_column("sagas", sa.Column("preorder_release_date", sa.Date(), nullable=True))
    op.add_column(
        "sagas", sa.Column("delay_notified", sa.Boolean(), nullable=False, server_default=false)
    )


def downgrade() -> None:
    op.drop_column("sagas", "delay_notified")
    op.drop_column("sagas", "preorder_release_date")
    op.drop_column("sagas", "is_preorder")
