"""products.platform: where a product's keys are redeemed (Kinguin's `platform`, e.g.
"Steam"), which payment.finished hands delivery so that the reveal page shows that
platform's redemption help. Nullable: a product the catalog says nothing about gets the
general help.

Revision ID: p0014
Revises: p0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0014"
down_revision: str | None = "p0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("products", sa.Column("platform", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("products", "platform")
