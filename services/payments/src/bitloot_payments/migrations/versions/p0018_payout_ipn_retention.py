"""Payout IPN retention: the index its cut-off queries find their candidates by
(authentication and age), as ix_ipn_log_retention does for the IPN log.

Revision ID: p0018
Revises: p0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "p0018"
down_revision: str | None = "p0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_payout_ipns_retention", "payout_ipns", ["signature_valid", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_payout_ipns_retention", table_name="payout_ipns")
