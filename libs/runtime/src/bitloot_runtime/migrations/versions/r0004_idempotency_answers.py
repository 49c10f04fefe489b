"""Idempotency keys keep the answer's headers and say when a claim is in doubt (issue #23).

A repeat gets the first answer's end-to-end headers (`headers`, JSON) as well as its status
and body; a claim whose action failed after it may have acted is marked `doubted_at` and is
kept (never re-run) until the longer in-doubt lifetime; answered keys are swept by
`answered_at`.

Revision ID: r0004
Revises: r0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0004"
down_revision: str | None = "r0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("headers", sa.Text(), nullable=True))
    op.add_column(
        "idempotency_keys", sa.Column("doubted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_idempotency_keys_answered_at", "idempotency_keys", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_answered_at", table_name="idempotency_keys")
    op.drop_column("idempotency_keys", "doubted_at")
    op.drop_column("idempotency_keys", "headers")
