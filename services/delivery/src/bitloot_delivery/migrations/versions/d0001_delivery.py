"""Delivery: deliveries, delivered_keys, emails and reveals.

Revision ID: d0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("delivery",)
depends_on: str | Sequence[str] | None = "r0001"


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_email", sa.Text(), nullable=False),
        sa.Column("kinguin_order_id", sa.Text(), nullable=False),
        sa.Column("kek_id", sa.Text(), nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("key_count", sa.Integer(), nullable=False),
        sa.Column(
            "stored_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "delivered_keys",
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("deliveries.order_id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key_type", sa.Text(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "position", name="pk_delivered_keys"),
    )
    _create_emails()
    op.create_table(
        "reveals",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("deliveries.order_id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("ip", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
    )
    op.create_index("ix_reveals_order_id", "reveals", ["order_id", "at"])


def _create_emails() -> None:
    op.create_table(
        "emails",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("deliveries.order_id"), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("to_address", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('delivery', 'resend')", name="ck_emails_kind"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_emails_status"),
    )
    op.create_index(
        "uq_emails_one_delivery_per_order",
        "emails",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'delivery'"),
    )
    op.create_index(
        "ix_emails_pending",
        "emails",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("reveals")
    op.drop_table("emails")
    op.drop_table("delivered_keys")
    op.drop_table("deliveries")
