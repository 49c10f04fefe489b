"""Fulfillment: every saga transition, for the order's timeline.

Revision ID: f0002
Revises: f0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f0002"
down_revision: str | None = "f0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saga_transitions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=True),
        sa.Column("to_state", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_saga_transitions_order", "saga_transitions", ["order_id", "id"])
    op.create_index("ix_sagas_state_updated", "sagas", ["state", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_sagas_state_updated", "sagas")
    op.drop_index("ix_saga_transitions_order", "saga_transitions")
    op.drop_table("saga_transitions")
