"""Payments: the trace an IPN was received in, so that applying it, later and in the IPN
processor's loop, goes on in that trace and the events it causes (payment.finished) carry
it on (issue #22). NULL when tracing is off, for polled statuses and for older rows.

Revision ID: p0015
Revises: p0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0015"
down_revision: str | None = "p0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ipn_log", sa.Column("traceparent", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("ipn_log", "traceparent")
