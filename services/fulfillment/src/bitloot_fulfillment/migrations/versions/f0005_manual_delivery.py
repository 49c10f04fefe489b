"""Fulfillment: who delivered an order's keys by hand, so that it is done at most once.

Revision ID: f0005
Revises: f0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f0005"
down_revision: str | None = "f0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sagas", sa.Column("delivered_by_hand_by", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("sagas", "delivered_by_hand_by")
