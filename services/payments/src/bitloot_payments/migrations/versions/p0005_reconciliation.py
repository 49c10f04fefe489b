"""Reconciliation: when NOWPayments is next asked about an order whose IPNs may be lost.

Revision ID: p0005
Revises: p0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0005"
down_revision: str | None = "p0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("reconcile_at", sa.DateTime(timezone=True)))
    op.add_column(
        "orders",
        sa.Column("reconcile_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("orders", sa.Column("reconciled_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_orders_reconcile_at",
        "orders",
        ["reconcile_at"],
        postgresql_where=sa.text("reconcile_at IS NOT NULL"),
    )
    # Orders invoiced before reconciliation existed are asked about once, now.
    op.execute("UPDATE orders SET reconcile_at = now() WHERE status IN ('invoiced', 'failed')")


def downgrade() -> None:
    op.drop_index("ix_orders_reconcile_at", "orders")
    op.drop_column("orders", "reconciled_at")
    op.drop_column("orders", "reconcile_attempts")
    op.drop_column("orders", "reconcile_at")
