"""Admin retention: an index on when order activity happened, for retention's cut-off
query (the audit has admin_audit_at already).

Revision ID: a0007
Revises: a0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a0007"
down_revision: str | None = "a0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("order_activity_at", "order_activity", ["at"])


def downgrade() -> None:
    op.drop_index("order_activity_at", table_name="order_activity")
