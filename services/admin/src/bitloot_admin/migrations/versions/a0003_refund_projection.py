"""Admin: the projection keeps only a refund's story.

An order's payment and fulfillment steps are read from payments and fulfillment, which
recorded each of them in the same transaction as the event; the projected copies only
doubled those rows on the timeline. The table stays, for refunds and revoked keys.

Revision ID: a0003
Revises: a0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a0003"
down_revision: str | None = "a0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "DELETE FROM order_activity WHERE topic NOT IN "
        "('keys.revoked', 'refund.status_changed', 'refund.claim_link_requested')"
    )


def downgrade() -> None:
    """Nothing to restore: the rows removed are in payments' and fulfillment's tables."""
