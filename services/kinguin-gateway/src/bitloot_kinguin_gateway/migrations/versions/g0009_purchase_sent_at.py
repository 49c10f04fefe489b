"""When a purchase under each external id was last sent to Kinguin: a look-up that finds
nothing is believed only once no purchase of ours can still be under way.

Revision ID: g0009
Revises: g0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0009"
down_revision: str | None = "g0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("kinguin_orders", sa.Column("sent_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("kinguin_orders", "sent_at")
