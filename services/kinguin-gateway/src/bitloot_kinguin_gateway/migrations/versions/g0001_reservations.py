"""Kinguin gateway: the reservations and webhook_log tables.

Revision ID: g0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "g0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("kinguin_gateway",)
depends_on: str | Sequence[str] | None = "r0001"


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("lines", postgresql.JSONB(), nullable=False),
        sa.Column("kinguin_order_id", sa.Text(), nullable=True, unique=True),
        sa.Column("kinguin_status", sa.Text(), nullable=True),
        sa.Column("kinguin_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("customer_email", sa.Text(), nullable=True),
        sa.Column("failure_code", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("keys_sealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("keys_count", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "webhook_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("event_name", sa.Text(), nullable=True),
        sa.Column("kinguin_order_id", sa.Text(), nullable=True),
        sa.Column("order_external_id", sa.Text(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("raw_body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("authenticated", sa.Boolean(), nullable=False),
        sa.Column("duplicate", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("applied", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index(
        "uq_webhook_log_first_copy",
        "webhook_log",
        ["event_name", "kinguin_order_id", "status", "updated_at"],
        unique=True,
        postgresql_where=sa.text("authenticated AND NOT duplicate"),
    )
    op.create_index("ix_webhook_log_order_id", "webhook_log", ["order_id"])


def downgrade() -> None:
    op.drop_table("webhook_log")
    op.drop_table("reservations")
