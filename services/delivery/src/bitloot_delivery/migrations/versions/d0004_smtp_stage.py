"""Delivery: the SMTP stage an email attempt reached, so that one cut short before DATA
is sent again and one cut during DATA is sent once more with the same Message-ID.

`smtp_stage` is `before_data` from the claim and `data` once committed just before the
DATA command; `recovered_attempts` and `doubtful_resends` count the two kinds of resend.
Attempts under way at the upgrade keep a NULL stage, which the sender treats as `data`
(it may have begun).

Revision ID: d0004
Revises: d0003
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0004"
down_revision: str | None = "d0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("emails", sa.Column("smtp_stage", sa.Text(), nullable=True))
    op.add_column(
        "emails",
        sa.Column("recovered_attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column(
        "emails",
        sa.Column("doubtful_resends", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.create_check_constraint(
        "ck_emails_smtp_stage", "emails", "smtp_stage IN ('before_data', 'data')"
    )


def downgrade() -> None:
    op.drop_constraint("ck_emails_smtp_stage", "emails", type_="check")
    op.drop_column("emails", "doubtful_resends")
    op.drop_column("emails", "recovered_attempts")
    op.drop_column("emails", "smtp_stage")
