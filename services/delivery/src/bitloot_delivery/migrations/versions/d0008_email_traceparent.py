"""Delivery: the trace an email was queued in, so that its SMTP conversation, run later
by the sender loop, is a span of the order's trace and delivery.completed carries it on
(issue #22). NULL for emails queued before the upgrade: their attempts start a new trace.

Revision ID: d0008
Revises: d0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0008"
down_revision: str | None = "d0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("emails", sa.Column("traceparent", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("emails", "traceparent")
