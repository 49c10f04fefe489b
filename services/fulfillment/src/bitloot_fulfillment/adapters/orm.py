"""The fulfillment service's tables. Its own tables join the runtime's (outbox, inbox,
dead_letters) in one metadata, which Alembic compares against the migrations."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from bitloot_runtime.tables import include_runtime_tables

metadata = MetaData()
include_runtime_tables(metadata)

sagas = Table(
    "sagas",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("customer_email", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("kinguin_order_id", Text, nullable=True),
    Column("kinguin_status", Text, nullable=True),
    Column("kinguin_updated_at", DateTime(timezone=True), nullable=True),
    Column("failure_stage", Text, nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("reservation_confirmed", Boolean, nullable=False, server_default=text("false")),
    Column("keys_left_gateway", Boolean, nullable=False, server_default=text("false")),
    Column("delivered_key_count", Integer, nullable=True),
    Column("delivery_error", Text, nullable=True),
    Column("polls_sent", Integer, nullable=False, server_default=text("0")),
    Column("lines", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("is_preorder", Boolean, nullable=False, server_default=text("false")),
    Column("preorder_release_date", Date, nullable=True),
    Column("delay_notified", Boolean, nullable=False, server_default=text("false")),
    # The admin who entered the order's keys by hand, if one did (at most once).
    Column("delivered_by_hand_by", Text, nullable=True),
    # The order's refund as payments last reported it, and when (older reports lose).
    Column("refund_id", BigInteger, nullable=True),
    Column("refund_status", Text, nullable=True),
    Column("refund_at", DateTime(timezone=True), nullable=True),
    Column("refund_amount", Numeric(30, 12), nullable=True),
    Column("refund_currency", Text, nullable=True),
    Column("refund_transaction_id", Text, nullable=True),
    # Whether delivery confirmed the key email (NULL until delivery.completed).
    Column("email_sent", Boolean, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_sagas_state_updated", "state", "updated_at"),
)

saga_transitions = Table(
    "saga_transitions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("from_state", Text, nullable=True),
    Column("to_state", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_saga_transitions_order", "order_id", "id"),
)

# At most one timer of each kind per order; the sweeper claims due ones with
# FOR UPDATE SKIP LOCKED, so several instances never fire the same timer.
saga_timers = Table(
    "saga_timers",
    metadata,
    Column("order_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("attempt", Integer, nullable=False),
    PrimaryKeyConstraint("order_id", "kind", name="pk_saga_timers"),
    Index("ix_saga_timers_due", "due_at"),
)
