"""Delivery: the email queue's per-order and per-claim look-ups seek instead of scanning.

Queuing an order's keys email withdraws the order's pending delay notice (`order_id`,
kind and status): no index served it, so each one scanned every pending email, or the
whole table; the order's email log (admin views) did the same. The sender's claim takes
the oldest due email by (`next_attempt_at`, `id`): the pending index now holds both, so
the claim reads the first due row instead of sorting every pending one.

Revision ID: d0006
Revises: d0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0006"
down_revision: str | None = "d0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index("ix_emails_order_id", "emails", ["order_id"])
    op.drop_index("ix_emails_pending", "emails")
    op.create_index(
        "ix_emails_pending", "emails", ["next_attempt_at", "id"], postgresql_where=_PENDING
    )


def downgrade() -> None:
    op.drop_index("ix_emails_pending", "emails")
    op.create_index("ix_emails_pending", "emails", ["next_attempt_at"], postgresql_where=_PENDING)
    op.drop_index("ix_emails_order_id", "emails")
