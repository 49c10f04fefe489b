"""What Kinguin has of each catalog product, heard from the gateway; and the catalog's
products announced to the gateway once, so that it starts watching those listed before.

Revision ID: p0008
Revises: p0007
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0008"
down_revision: str | None = "p0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One catalog.product_listed (schema_version 1) per Kinguin product already in the
# catalog, through the outbox as if each had just been saved.
_ANNOUNCE_CATALOG = """
INSERT INTO outbox (event_id, topic, order_id, body, headers)
SELECT listed.event_id, 'catalog.product_listed', NULL,
       convert_to(json_build_object(
           'event_id', listed.event_id,
           'order_id', NULL,
           'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'schema_version', 1,
           'kinguin_product_id', listed.kinguin_product_id,
           'active', listed.active
       )::text, 'UTF8'),
       '{}'::jsonb
FROM (
    SELECT gen_random_uuid() AS event_id, kinguin_product_id, bool_or(active) AS active
    FROM products
    GROUP BY kinguin_product_id
) AS listed
"""


def upgrade() -> None:
    op.create_table(
        "product_availability",
        sa.Column("kinguin_product_id", sa.Text(), primary_key=True),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(18, 8), nullable=True),
        sa.Column("is_preorder", sa.Boolean(), nullable=False),
        sa.Column("release_date", sa.Text(), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.execute(_ANNOUNCE_CATALOG)


def downgrade() -> None:
    op.drop_table("product_availability")
