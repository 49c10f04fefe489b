"""Kinguin gateway: the catalog's Kinguin products, with their last known stock and price.

Revision ID: g0004
Revises: g0003
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g0004"
down_revision: str | None = "g0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("kinguin_product_id", sa.Text(), primary_key=True),
        sa.Column("watched", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qty", sa.Integer(), nullable=True),
        sa.Column("price", sa.Numeric(18, 8), nullable=True),
        sa.Column("is_preorder", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("release_date", sa.Text(), nullable=True),
        sa.Column("kinguin_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_products_watched_synced_at", "products", ["watched", "synced_at"])


def downgrade() -> None:
    op.drop_index("ix_products_watched_synced_at", table_name="products")
    op.drop_table("products")
