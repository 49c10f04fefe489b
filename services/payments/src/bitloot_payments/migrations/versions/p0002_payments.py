"""Payments: a row per NOWPayments payment, admin flags, IPNs processed after the answer,
and idempotent checkout.

Revision ID: p0002
Revises: p0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "p0002"
down_revision: str | None = "p0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AMOUNT = sa.Numeric(30, 12)


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.add_column("orders", sa.Column("idempotency_key", sa.Text(), nullable=True))
    op.add_column("orders", sa.Column("request_hash", sa.Text(), nullable=True))
    op.create_unique_constraint("orders_idempotency_key_key", "orders", ["idempotency_key"])
    op.create_index("ix_orders_created_at_order_id", "orders", ["created_at", "order_id"])
    # IPNs logged before this revision were applied when they arrived.
    op.add_column(
        "ipn_log",
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            server_default=sa.func.now(),
        ),
    )
    op.alter_column("ipn_log", "processed_at", server_default=None)
    op.create_index(
        "ix_ipn_log_pending", "ipn_log", ["id"], postgresql_where=sa.text("processed_at IS NULL")
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.Text(), primary_key=True),
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("orders.order_id"), nullable=False),
        sa.Column("parent_payment_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("seen", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("price_amount", _AMOUNT, nullable=True),
        sa.Column("price_currency", sa.Text(), nullable=True),
        sa.Column("pay_amount", _AMOUNT, nullable=True),
        sa.Column("actually_paid", _AMOUNT, nullable=True),
        sa.Column("pay_currency", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index("ix_payments_order_id", "payments", ["order_id"])
    op.create_index("ix_payments_created_at_payment_id", "payments", ["created_at", "payment_id"])
    op.create_table(
        "flags",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        _timestamp("created_at"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("payment_id", sa.Text(), nullable=True),
        sa.Column("ipn_id", sa.BigInteger(), sa.ForeignKey("ipn_log.id"), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_flags_order_id", "flags", ["order_id"])
    op.create_index("ix_flags_payment_id", "flags", ["payment_id"])


def downgrade() -> None:
    op.drop_table("flags")
    op.drop_table("payments")
    op.drop_index("ix_ipn_log_pending", "ipn_log")
    op.drop_column("ipn_log", "processed_at")
    op.drop_index("ix_orders_created_at_order_id", "orders")
    op.drop_constraint("orders_idempotency_key_key", "orders")
    op.drop_column("orders", "request_hash")
    op.drop_column("orders", "idempotency_key")
