"""Refund payouts, each row committed before NOWPayments is asked (at most one live per
refund), and the log of payout IPNs.

Revision ID: p0012
Revises: p0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0012"
down_revision: str | None = "p0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _times() -> list[sa.Column[object]]:
    return [
        sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
        for name in ("created_at", "updated_at")
    ]


def upgrade() -> None:
    op.create_table(
        "payouts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("refund_id", sa.BigInteger(), sa.ForeignKey("refunds.id"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("unique_external_id", sa.Text(), nullable=False, unique=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("provider_payout_id", sa.Text(), nullable=True, unique=True),
        sa.Column("batch_id", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("extra_id", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(30, 12), nullable=False),
        sa.Column("hash", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        *_times(),
        sa.UniqueConstraint("refund_id", "attempt", name="ux_payouts_refund_attempt"),
    )
    op.create_index(
        "ux_payouts_live_refund",
        "payouts",
        ["refund_id"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('failed', 'rejected', 'refused')"),
    )
    op.create_index("ix_payouts_status_updated", "payouts", ["status", "updated_at"])
    op.create_table(
        "payout_ipns",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("raw_body", sa.LargeBinary(), nullable=False),
        sa.Column("body_sha256", sa.Text(), nullable=False),
        sa.Column("signature_valid", sa.Boolean(), nullable=False),
        sa.Column("provider_payout_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ux_payout_ipns_authentic_body",
        "payout_ipns",
        ["body_sha256"],
        unique=True,
        postgresql_where=sa.text("signature_valid"),
    )
    op.create_index(
        "ix_payout_ipns_pending",
        "payout_ipns",
        ["id"],
        postgresql_where=sa.text("result = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("payout_ipns")
    op.drop_table("payouts")
