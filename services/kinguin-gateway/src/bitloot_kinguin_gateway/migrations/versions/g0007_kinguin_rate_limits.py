"""Kinguin gateway: Kinguin's rate limit kept in the database, one row per API key (named
by a hash of the key), so that every replica draws from one bucket (issue #23).

Revision ID: g0007
Revises: g0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0007"
down_revision: str | None = "g0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kinguin_rate_limits",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("tat", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_kinguin_rate_limits"),
    )


def downgrade() -> None:
    op.drop_table("kinguin_rate_limits")
