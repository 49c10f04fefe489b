"""Late and odd payments: when an order's payment window closed, and the amounts behind
each flag.

Revision ID: p0004
Revises: p0003
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "p0004"
down_revision: str | None = "p0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "flags",
        sa.Column(
            "data", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
    )


def downgrade() -> None:
    op.drop_column("flags", "data")
    op.drop_column("orders", "closed_at")
