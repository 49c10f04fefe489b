"""Fulfillment: the order's refund as payments last reported it, and whether the key email
was confirmed, for the customer status and the revival guard.

Revision ID: f0006
Revises: f0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f0006"
down_revision: str | None = "f0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("refund_id", sa.BigInteger()),
    ("refund_status", sa.Text()),
    ("refund_at", sa.DateTime(timezone=True)),
    ("refund_amount", sa.Numeric(30, 12)),
    ("refund_currency", sa.Text()),
    ("refund_transaction_id", sa.Text()),
    ("email_sent", sa.Boolean()),
)


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.add_column("sagas", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(_COLUMNS):
        op.drop_column("sagas", name)
