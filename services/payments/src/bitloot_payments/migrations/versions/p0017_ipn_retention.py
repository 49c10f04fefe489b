"""IPN log retention: the audit of what retention deleted, and the indexes its cut-off
queries use (candidates by authentication and age; whether a flag names an IPN, which
is also what the flags' foreign key checks on every delete).

Revision ID: p0017
Revises: p0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0017"
down_revision: str | None = "p0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "swept_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
    )
    op.create_index("ix_ipn_log_retention", "ipn_log", ["signature_valid", "received_at"])
    op.create_index(
        "ix_flags_ipn_id", "flags", ["ipn_id"], postgresql_where=sa.text("ipn_id IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_flags_ipn_id", table_name="flags")
    op.drop_index("ix_ipn_log_retention", table_name="ipn_log")
    op.drop_table("retention_log")
