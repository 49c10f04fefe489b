"""Delivery: the refund emails, an admin's resend of a notice, and revoked keys.

`emails` gains the refund a notice belongs to and what it says (`notice`, JSON), the
email an admin's resend repeats (`resend_of`) and who asked (`requested_by`); partial
unique indexes keep one refund_due and one refund_sent email per refund (the delay
notice's index now lets an admin's resend through too). `withdrawn` marks a key email
that had not gone out when the keys were revoked. `deliveries` records the revocation.

Revision ID: d0005
Revises: d0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "d0005"
down_revision: str | None = "d0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = (
    "kind IN ('delivery', 'resend', 'fresh_link', 'delayed', 'refund_due', 'refund_sent', "
    "'claim_link')"
)
_STATUSES = (
    "status IN ('pending', 'sending', 'sent', 'failed', 'unconfirmed', 'superseded', 'withdrawn')"
)
_REFUND_NOTICE = (
    "(kind IN ('refund_due', 'refund_sent', 'claim_link')) = (notice IS NOT NULL) "
    "AND (notice IS NULL) = (refund_id IS NULL)"
)
_OLD_KINDS = "kind IN ('delivery', 'resend', 'fresh_link', 'delayed')"
_OLD_STATUSES = "status IN ('pending', 'sending', 'sent', 'failed', 'unconfirmed', 'superseded')"
_DELAY_INDEX = "uq_emails_one_delay_notice_per_order"
_FIRST = "resend_of IS NULL"  # an admin's resend is never a duplicate


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("revoked_at", sa.DateTime(timezone=True)))
    op.add_column("deliveries", sa.Column("revoked_by", sa.Text()))
    op.add_column("deliveries", sa.Column("revoke_note", sa.Text()))
    op.add_column("emails", sa.Column("refund_id", sa.BigInteger()))
    op.add_column("emails", sa.Column("notice", JSONB()))
    op.add_column("emails", sa.Column("resend_of", sa.BigInteger()))
    op.add_column("emails", sa.Column("requested_by", sa.Text()))
    op.create_foreign_key("emails_resend_of_fkey", "emails", "emails", ["resend_of"], ["id"])
    _replace_check("ck_emails_kind", _KINDS)
    _replace_check("ck_emails_status", _STATUSES)
    op.create_check_constraint("ck_emails_refund_notice", "emails", _REFUND_NOTICE)
    op.drop_index(_DELAY_INDEX, "emails")
    _unique(_DELAY_INDEX, "order_id", f"kind = 'delayed' AND {_FIRST}")
    for kind in ("refund_due", "refund_sent"):
        _unique(f"uq_emails_one_{kind}_per_refund", "refund_id", f"kind = '{kind}' AND {_FIRST}")
    op.create_index(
        "ix_emails_claim_links",
        "emails",
        ["refund_id", "created_at"],
        postgresql_where=sa.text("kind = 'claim_link'"),
    )


def downgrade() -> None:
    # Refund emails and resends cannot be kept: the old constraints know neither.
    op.execute("DELETE FROM emails WHERE resend_of IS NOT NULL")
    op.execute("DELETE FROM emails WHERE notice IS NOT NULL")
    op.execute("UPDATE emails SET status = 'superseded' WHERE status = 'withdrawn'")
    op.drop_index("ix_emails_claim_links", "emails")
    op.drop_index("uq_emails_one_refund_sent_per_refund", "emails")
    op.drop_index("uq_emails_one_refund_due_per_refund", "emails")
    op.drop_index(_DELAY_INDEX, "emails")
    _unique(_DELAY_INDEX, "order_id", "kind = 'delayed'")
    op.drop_constraint("ck_emails_refund_notice", "emails", type_="check")
    _replace_check("ck_emails_status", _OLD_STATUSES)
    _replace_check("ck_emails_kind", _OLD_KINDS)
    op.drop_constraint("emails_resend_of_fkey", "emails", type_="foreignkey")
    for column in ("requested_by", "resend_of", "notice", "refund_id"):
        op.drop_column("emails", column)
    for column in ("revoke_note", "revoked_by", "revoked_at"):
        op.drop_column("deliveries", column)


def _replace_check(name: str, condition: str) -> None:
    op.drop_constraint(name, "emails", type_="check")
    op.create_check_constraint(name, "emails", condition)


def _unique(name: str, column: str, where: str) -> None:
    op.create_index(name, "emails", [column], unique=True, postgresql_where=sa.text(where))
