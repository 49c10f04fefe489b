"""Delivery: the delay notice, an email sent before the order has a delivery row.

`emails.order_id` loses its foreign key to `deliveries` (a notice comes before any key);
the notice's content is kept on its row; a partial unique index keeps it to one per
order; `superseded` marks a notice the keys overtook.

Revision ID: d0003
Revises: d0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d0003"
down_revision: str | None = "d0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "kind IN ('delivery', 'resend', 'fresh_link', 'delayed')"
_STATUSES = "status IN ('pending', 'sending', 'sent', 'failed', 'unconfirmed', 'superseded')"
_OLD_KINDS = "kind IN ('delivery', 'resend', 'fresh_link')"
_OLD_STATUSES = "status IN ('pending', 'sending', 'sent', 'failed', 'unconfirmed')"


def upgrade() -> None:
    op.drop_constraint("emails_order_id_fkey", "emails", type_="foreignkey")
    op.add_column("emails", sa.Column("is_preorder", sa.Boolean(), nullable=True))
    op.add_column("emails", sa.Column("release_date", sa.Date(), nullable=True))
    op.drop_constraint("ck_emails_kind", "emails", type_="check")
    op.create_check_constraint("ck_emails_kind", "emails", _KINDS)
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint("ck_emails_status", "emails", _STATUSES)
    op.create_check_constraint(
        "ck_emails_notice", "emails", "(kind = 'delayed') = (is_preorder IS NOT NULL)"
    )
    op.create_index(
        "uq_emails_one_delay_notice_per_order",
        "emails",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'delayed'"),
    )


def downgrade() -> None:
    # Delay notices cannot be kept: most belong to no delivery row.
    op.execute("DELETE FROM emails WHERE kind = 'delayed'")
    op.drop_index("uq_emails_one_delay_notice_per_order", "emails")
    op.drop_constraint("ck_emails_notice", "emails", type_="check")
    op.drop_constraint("ck_emails_status", "emails", type_="check")
    op.create_check_constraint("ck_emails_status", "emails", _OLD_STATUSES)
    op.drop_constraint("ck_emails_kind", "emails", type_="check")
    op.create_check_constraint("ck_emails_kind", "emails", _OLD_KINDS)
    op.drop_column("emails", "release_date")
    op.drop_column("emails", "is_preorder")
    op.create_foreign_key(
        "emails_order_id_fkey", "emails", "deliveries", ["order_id"], ["order_id"]
    )
