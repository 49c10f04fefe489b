"""The delivery service's tables. Its own tables join the runtime's (outbox, inbox,
dead_letters) in one metadata, which Alembic compares against the migrations.

No table holds a plaintext key: `deliveries` keeps the wrapped data key (the ciphertext
is in the object store) and `delivered_keys` only what each key is, never its value.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from bitloot_runtime.rate_limits import rate_limits_table
from bitloot_runtime.tables import include_runtime_tables

metadata = MetaData()
include_runtime_tables(metadata)

deliveries = Table(
    "deliveries",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("customer_email", Text, nullable=False),
    Column("kinguin_order_id", Text, nullable=False),
    Column("kek_id", Text, nullable=False),
    # NULL once retention has purged the keys: the ciphertext is then unreadable anywhere.
    Column("wrapped_data_key", LargeBinary, nullable=True),
    Column("object_key", Text, nullable=False),
    Column("key_count", Integer, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("emailed_at", DateTime(timezone=True), nullable=True),
    Column("viewed_at", DateTime(timezone=True), nullable=True),
    Column("purged_at", DateTime(timezone=True), nullable=True),
    # Set when an admin refunded the order with its keys unrevealed: never revealed again
    # (the ciphertext stays, for the audit, until retention purges it).
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", Text, nullable=True),
    Column("revoke_note", Text, nullable=True),
    Index("ix_deliveries_retention", "stored_at", postgresql_where=text("purged_at IS NULL")),
)

delivered_keys = Table(
    "delivered_keys",
    metadata,
    Column("order_id", Uuid, ForeignKey("deliveries.order_id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("key_type", Text, nullable=False),
    Column("product_id", Text, nullable=False),
    PrimaryKeyConstraint("order_id", "position", name="pk_delivered_keys"),
)

EMAIL_KINDS = (
    "kind IN ('delivery', 'resend', 'fresh_link', 'delayed', 'refund_due', 'refund_sent', "
    "'claim_link')"
)
EMAIL_STATUSES = (
    "status IN ('pending', 'sending', 'sent', 'failed', 'unconfirmed', 'superseded', 'withdrawn')"
)
REFUND_NOTICE = (
    "(kind IN ('refund_due', 'refund_sent', 'claim_link')) = (notice IS NOT NULL) "
    "AND (notice IS NULL) = (refund_id IS NULL)"
)

# No foreign key to deliveries: a delay notice is sent before the order has any keys
# (link emails are only ever queued for a stored delivery, by the code that stores it).
emails = Table(
    "emails",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("to_address", Text, nullable=False),
    # What a delay notice says (NULL for every other kind).
    Column("is_preorder", Boolean, nullable=True),
    Column("release_date", Date, nullable=True),
    # What a refund email says (RefundNotice as JSON) and its refund (NULL for other kinds).
    Column("refund_id", BigInteger, nullable=True),
    Column("notice", JSONB, nullable=True),
    # An admin's explicit resend of a notice: the email it repeats, and who asked.
    Column("resend_of", BigInteger, ForeignKey("emails.id"), nullable=True),
    Column("requested_by", Text, nullable=True),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("failed_at", DateTime(timezone=True), nullable=True),
    # Set when an attempt starts (committed before the mail server is called), so that an
    # attempt cut short by a crash is recognisable afterwards and resent as the same message.
    Column("message_id", Text, nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    # How far the attempt under way got: `before_data` from its claim, `data` committed
    # just before the DATA command (see domain.emails.after_cut for what each means when
    # the attempt is cut short). NULL before the first attempt.
    Column("smtp_stage", Text, nullable=True),
    # Attempts cut before DATA and sent again, and resends of an attempt cut during DATA.
    Column("recovered_attempts", Integer, nullable=False, server_default=text("0")),
    Column("doubtful_resends", Integer, nullable=False, server_default=text("0")),
    # The trace the email was queued in (W3C traceparent): its sending goes on in it.
    Column("traceparent", Text, nullable=True),
    CheckConstraint(EMAIL_KINDS, name="ck_emails_kind"),
    CheckConstraint(EMAIL_STATUSES, name="ck_emails_status"),
    CheckConstraint("(kind = 'delayed') = (is_preorder IS NOT NULL)", name="ck_emails_notice"),
    CheckConstraint(REFUND_NOTICE, name="ck_emails_refund_notice"),
    CheckConstraint("smtp_stage IN ('before_data', 'data')", name="ck_emails_smtp_stage"),
    # Exactly one delivery email per order (ARCHITECTURE invariant 4); resends are extra.
    Index(
        "uq_emails_one_delivery_per_order",
        "order_id",
        unique=True,
        postgresql_where=text("kind = 'delivery'"),
    ),
    # One delay notice per order, however many order.delayed events arrive, and one
    # refund_due / refund_sent email per refund, however many events (an admin's resend,
    # `resend_of` set, is extra).
    Index(
        "uq_emails_one_delay_notice_per_order",
        "order_id",
        unique=True,
        postgresql_where=text("kind = 'delayed' AND resend_of IS NULL"),
    ),
    *(
        Index(
            f"uq_emails_one_{kind}_per_refund",
            "refund_id",
            unique=True,
            postgresql_where=text(f"kind = '{kind}' AND resend_of IS NULL"),
        )
        for kind in ("refund_due", "refund_sent")
    ),
    # The claim-link emails of a refund, for their hourly limit.
    Index(
        "ix_emails_claim_links",
        "refund_id",
        "created_at",
        postgresql_where=text("kind = 'claim_link'"),
    ),
    # The sender only ever scans pending rows.
    Index(
        "ix_emails_pending", "next_attempt_at", "id", postgresql_where=text("status = 'pending'")
    ),
    # An order's emails: its delay notice withdrawn when the keys come, its email log.
    Index("ix_emails_order_id", "order_id"),
    Index("ix_emails_sending", "claimed_at", postgresql_where=text("status = 'sending'")),
)

reveals = Table(
    "reveals",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("order_id", Uuid, ForeignKey("deliveries.order_id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("ip", Text, nullable=True),
    Column("user_agent", Text, nullable=True),
    Index("ix_reveals_order_id", "order_id", "at"),
)

# The key audit beyond reveals: links issued, presigned URLs, re-wraps, retention purges.
key_events = Table(
    "key_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("order_id", Uuid, ForeignKey("deliveries.order_id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("action", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("ip", Text, nullable=True),
    Column("user_agent", Text, nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_key_events_order_id", "order_id", "at"),
)

# What each order is, in words (domain.summaries), from payment.finished: for the key
# email and the reveal page. No foreign key: payment.finished comes before the keys.
order_summaries = Table(
    "order_summaries",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("summary", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # payment.finished's occurred_at: where bitloot_time_to_key_seconds starts.
    Column("paid_at", DateTime(timezone=True), nullable=True),
)

# Fixed-window counters, in the database so that every instance shares them.
rate_limits = rate_limits_table(metadata)
