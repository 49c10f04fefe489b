"""Kinguin gateway: a reservation id of its own, for the internal API and live status.

Revision ID: g0002
Revises: g0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0002"
down_revision: str | None = "g0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # gen_random_uuid() fills existing rows too, so the column can be NOT NULL at once.
    op.add_column(
        "reservations",
        sa.Column(
            "reservation_id",
            sa.Uuid(),
            nullable=False,
            server_default=sa.text("gen_random_uuid()"),
        ),
    )
    op.create_unique_constraint(
        "uq_reservations_reservation_id", "reservations", ["reservation_id"]
    )
    op.create_index("ix_reservations_state", "reservations", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_reservations_state", table_name="reservations")
    op.drop_constraint("uq_reservations_reservation_id", "reservations")
    op.drop_column("reservations", "reservation_id")
