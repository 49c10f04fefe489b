"""The relay's index: unpublished outbox rows in id order.

The relay takes due rows in id order. On `(next_attempt_at, id)` PostgreSQL answered with
a bitmap scan that read every index entry of a row stamped published since the last
vacuum (18,766 entries to find 4 rows in a bench database): about 1,200 index tuples per
order in fulfilment, growing with the orders since the last vacuum. Walking `(id)` in
order, an index scan marks the dead entries it passes as such, so the next pass skips
them: 252 per order in the same measurement (issue #20).

Revision ID: r0002
Revises: r0001
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0002"
down_revision: str | None = "r0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNPUBLISHED = sa.text("published_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], postgresql_where=_UNPUBLISHED)


def downgrade() -> None:
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["next_attempt_at", "id"],
        postgresql_where=_UNPUBLISHED,
    )
