"""Flags an admin resolves (accept and fulfil, refund due, dismiss), and the refunds due.

Revision ID: p0006
Revises: p0005
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0006"
down_revision: str | None = "p0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("flags", sa.Column("status", sa.Text(), nullable=False, server_default="open"))
    op.add_column("flags", sa.Column("resolved_by", sa.Text(), nullable=True))
    op.add_column("flags", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("flags", sa.Column("note", sa.Text(), nullable=True))
    op.create_index("ix_flags_open", "flags", ["id"], postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "refunds",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("orders.order_id"), nullable=False),
        sa.Column("payment_id", sa.Text(), nullable=True),
        sa.Column("flag_id", sa.BigInteger(), sa.ForeignKey("flags.id"), nullable=True),
        sa.Column("amount", sa.Numeric(30, 12), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default="due"),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.UniqueConstraint("flag_id", name="refunds_flag_id_key"),
    )
    op.create_index("ix_refunds_order_id", "refunds", ["order_id"])


def downgrade() -> None:
    op.drop_table("refunds")
    op.drop_index("ix_flags_open", "flags")
    for column in ("note", "resolved_at", "resolved_by", "status"):
        op.drop_column("flags", column)
