"""Delivery: key events (audit), rate limits, email claims and kinds, retention purge.

Revision ID: d0002
Revises: d0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0002"
down_revision: str | None = "d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "kind IN ('delivery', 'resend', 'fresh_link')"
_STATUSES = "status IN ('pending', 'sending', 'sent', 'failed', 'unconfirmed')"


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("purged_at", sa.DateTime(timezone=True)))
    op.alter_column("deliveries", "wrapped_data_key", nullable=True)
    op.add_column("emails", sa.Column("message_id", sa.Text()))
    op.add_column("emails", sa.Column("claimed_at", sa.DateTime(timezone=True)))
    op.drop_constraint("ck_emails_kind", "emails", type_="check")
    op.create_check_constraint("ck_emails_kind", "emails", _KINDS)
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint("ck_emails_status", "emails", _STATUSES)
    op.create_index(
        "ix_emails_sending",
        "emails",
        ["claimed_at"],
        postgresql_where=sa.text("status = 'sending'"),
    )
    op.create_table(
        "key_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("deliveries.order_id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("ip", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_key_events_order_id", "key_events", ["order_id", "at"])
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name="pk_rate_limits"),
    )
    op.create_index(
        "ix_deliveries_retention",
        "deliveries",
        ["stored_at"],
        postgresql_where=sa.text("purged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_retention", "deliveries")
    op.drop_table("rate_limits")
    op.drop_table("key_events")
    op.drop_index("ix_emails_sending", "emails")
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint(
        "ck_emails_status", "emails", "status IN ('pending', 'sent', 'failed')"
    )
    op.drop_constraint("ck_emails_kind", "emails", type_="check")
    op.create_check_constraint("ck_emails_kind", "emails", "kind IN ('delivery', 'resend')")
    op.drop_column("emails", "claimed_at")
    op.drop_column("emails", "message_id")
    op.alter_column("deliveries", "wrapped_data_key", nullable=False)
    op.drop_column("deliveries", "purged_at")
