"""A refund's life after it is due: the customer's claim (payout address), the admin's
decision, the payout's outcome; and at most one refund per order for each reason that is
not a flag (a failed order, keys refunded unrevealed).

Revision ID: p0009
Revises: p0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0009"
down_revision: str | None = "p0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NULLABLE_TEXT = (
    "cause",
    "payout_address",
    "payout_extra_id",
    "decided_by",
    "decision_note",
    "transaction_id",
    "error",
)
_NULLABLE_TIMES = ("claimed_at", "decided_at")


def upgrade() -> None:
    for column in _NULLABLE_TEXT:
        op.add_column("refunds", sa.Column(column, sa.Text(), nullable=True))
    for column in _NULLABLE_TIMES:
        op.add_column("refunds", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "refunds",
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index(
        "ux_refunds_order_reason",
        "refunds",
        ["order_id", "reason"],
        unique=True,
        postgresql_where=sa.text("flag_id IS NULL"),
    )
    op.create_index("ix_refunds_status_id", "refunds", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_refunds_status_id", "refunds")
    op.drop_index("ux_refunds_order_reason", "refunds")
    for column in ("updated_at", *_NULLABLE_TIMES, *_NULLABLE_TEXT):
        op.drop_column("refunds", column)
