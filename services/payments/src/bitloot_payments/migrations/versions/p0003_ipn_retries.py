"""IPN processing retries: a failed attempt is tried again later instead of being given
up; polled payment statuses share the log (`source`); an admin may re-apply an IPN.

Revision ID: p0003
Revises: p0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0003"
down_revision: str | None = "p0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ipn_log", sa.Column("source", sa.Text(), nullable=False, server_default="ipn"))
    op.add_column("ipn_log", sa.Column("retries", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("ipn_log", sa.Column("defects", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("ipn_log", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("ipn_log", sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
    op.add_column("ipn_log", sa.Column("replayed_by", sa.Text(), nullable=True))
    op.add_column("ipn_log", sa.Column("replayed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    for column in (
        "replayed_at",
        "replayed_by",
        "next_attempt_at",
        "last_error",
        "defects",
        "retries",
        "source",
    ):
        op.drop_column("ipn_log", column)
