"""Payments: catalog, orders, order lines and the IPN log.

Revision ID: p0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("payments",)
depends_on: str | Sequence[str] | None = "r0001"

_MONEY = sa.Numeric(18, 8)


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("sku", sa.Text(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kinguin_product_id", sa.Text(), nullable=False),
        sa.Column("price", _MONEY, nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("max_purchase_price", _MONEY, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp("updated_at"),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("total", _MONEY, nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.Text(), nullable=True),
        sa.Column("invoice_url", sa.Text(), nullable=True),
        sa.Column("payment_id", sa.Text(), nullable=True),
        sa.Column("payment_status", sa.Text(), nullable=True),
        sa.Column("invoiced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index("ix_orders_created_at", "orders", ["created_at"])
    op.create_index("ix_orders_email", "orders", ["email"])
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("orders.order_id"), nullable=False),
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("kinguin_product_id", sa.Text(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", _MONEY, nullable=False),
        sa.Column("max_unit_price", _MONEY, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "sku"),
    )
    op.create_table(
        "ipn_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        _timestamp("received_at"),
        sa.Column("raw_body", sa.LargeBinary(), nullable=False),
        sa.Column("signature_valid", sa.Boolean(), nullable=False),
        sa.Column("payment_id", sa.Text(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
    )
    op.create_index("ix_ipn_log_order_id", "ipn_log", ["order_id"])
    op.create_index("ix_ipn_log_payment_id_status", "ipn_log", ["payment_id", "status"])


def downgrade() -> None:
    op.drop_table("ipn_log")
    op.drop_table("order_lines")
    op.drop_table("orders")
    op.drop_table("products")
