"""Kinguin gateway: the trace a reservation was opened in, so that Kinguin's webhook
about its order, a request of Kinguin's with no trace of ours, goes on in the order's
trace (issue #22). NULL for reservations opened before the upgrade.

Revision ID: g0006
Revises: g0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0006"
down_revision: str | None = "g0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reservations", sa.Column("traceparent", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("reservations", "traceparent")
