"""The kinguin-gateway service's tables. Its own tables join the runtime's (outbox, inbox,
dead_letters) in one metadata, which Alembic compares against the migrations."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from bitloot_runtime.retention import retention_log_table
from bitloot_runtime.tables import include_runtime_tables

metadata = MetaData()
include_runtime_tables(metadata)

# One row per order, `state` placing → placed | failed: committed in state `placing`
# before Kinguin is called, so that a retry knows to look the order up at Kinguin (by
# our order id as orderExternalId) instead of buying again.
reservations = Table(
    "reservations",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    # The reservation's own id (admin tools, live status); one reservation per order.
    Column(
        "reservation_id",
        Uuid,
        nullable=False,
        server_default=text("gen_random_uuid()"),
    ),
    Column("state", Text, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("kinguin_order_id", Text, nullable=True, unique=True),
    Column("kinguin_status", Text, nullable=True),
    Column("kinguin_updated_at", DateTime(timezone=True), nullable=True),
    Column("customer_email", Text, nullable=True),
    Column("failure_code", Text, nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("settled_at", DateTime(timezone=True), nullable=True),
    Column("keys_sealed_at", DateTime(timezone=True), nullable=True),
    Column("keys_count", Integer, nullable=True),
    # Which attempt at Kinguin is the current one (see `kinguin_orders`): 1, then one more
    # for each new order placed after the previous one bought nothing or was canceled.
    Column("attempt", Integer, nullable=False, server_default=text("1")),
    # The trace the reservation was opened in (W3C traceparent): Kinguin's webhooks about
    # its order go on in it.
    Column("traceparent", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("reservation_id", name="uq_reservations_reservation_id"),
    Index("ix_reservations_state", "state", "created_at"),
)

# Every orderExternalId ever used for an order, recorded (committed) before the call that
# uses it: our order id for attempt 1, `<order id>-<n>` for attempt n. A retry looks every
# one of them up at Kinguin before it may buy, so an order has at most one live Kinguin
# order whatever crashed when.
kinguin_orders = Table(
    "kinguin_orders",
    metadata,
    Column("external_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("kinguin_order_id", Text, nullable=True, unique=True),
    Column("kinguin_status", Text, nullable=True),
    # When a purchase under this external id was last sent (committed right before the
    # POST): until `Reserve`'s in-flight window has passed, Kinguin may still be creating
    # that order, so a look-up finding nothing is not yet believed.
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("order_id", "attempt", name="uq_kinguin_orders_order_attempt"),
)

# One key-return request per Kinguin order (Kinguin accepts only one): committed in state
# `requested` before the call, so a retry reads the order at Kinguin instead of asking
# again; then `returned`, `refused` (Kinguin's reason), `unknown` (no sign of a return
# after an answer was lost), or `not_returnable` (never asked: preorder, past 24 h).
key_returns = Table(
    "key_returns",
    metadata,
    Column("kinguin_order_id", Text, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("state", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("key_count", Integer, nullable=True),
    Column("requested_by", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("settled_at", DateTime(timezone=True), nullable=True),
    Index("ix_key_returns_order_id", "order_id"),
)

# Every webhook call, authenticated or not, as received (secret headers redacted).
webhook_log = Table(
    "webhook_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("event_name", Text, nullable=True),
    Column("kinguin_order_id", Text, nullable=True),
    Column("order_external_id", Text, nullable=True),
    Column("order_id", Uuid, nullable=True),
    Column("status", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    Column("raw_body", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("authenticated", Boolean, nullable=False),
    Column("duplicate", Boolean, nullable=False, server_default=text("false")),
    Column("applied", Boolean, nullable=False, server_default=text("false")),
    Column("note", Text, nullable=True),
    # The first authenticated copy of a notification wins; later copies are inserted as
    # duplicates (see adapters.repository.WebhookLog.record), so the log stays complete.
    Index(
        "uq_webhook_log_first_copy",
        "event_name",
        "kinguin_order_id",
        "status",
        "updated_at",
        unique=True,
        postgresql_where=text("authenticated AND NOT duplicate"),
    ),
    Index("ix_webhook_log_order_id", "order_id"),
    # Retention's cut-off queries (adapters/retention.py).
    Index("ix_webhook_log_retention", "authenticated", "received_at"),
)

# What retention deleted, one row per batch (bitloot_runtime.retention).
retention_log = retention_log_table(metadata)

# The Kinguin products payments' catalog lists, and what Kinguin last said of each: stock
# from product.update webhooks and from reading the product, price and preorder from the
# latter. `kinguin_updated_at` is the time of the newest news applied (Kinguin's updatedAt,
# or when we read the product): an older webhook is stale.
products = Table(
    "products",
    metadata,
    Column("kinguin_product_id", Text, primary_key=True),
    Column("watched", Boolean, nullable=False, server_default=text("false")),
    # occurred_at of the catalog.product_listed applied last (they arrive in any order).
    Column("listed_at", DateTime(timezone=True), nullable=True),
    Column("qty", Integer, nullable=True),
    Column("price", Numeric(18, 8), nullable=True),
    Column("is_preorder", Boolean, nullable=False, server_default=text("false")),
    Column("release_date", Text, nullable=True),
    Column("kinguin_updated_at", DateTime(timezone=True), nullable=True),
    Column("synced_at", DateTime(timezone=True), nullable=True),
    Index("ix_products_watched_synced_at", "watched", "synced_at"),
)

# Kinguin's rate limit, shared by every replica (adapters/rate_limit.py): one row per API
# key, named by a hash of the key; `tat` is the theoretical arrival time of the next call
# (seconds since the epoch, on the database's clock).
kinguin_rate_limits = Table(
    "kinguin_rate_limits",
    metadata,
    Column("name", Text, nullable=False),
    Column("tat", Float(precision=53), nullable=False),
    PrimaryKeyConstraint("name", name="pk_kinguin_rate_limits"),
)
