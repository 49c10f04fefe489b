"""The payments service's tables. Its own tables join the runtime's (outbox, inbox,
dead_letters) in one metadata, which Alembic compares against the migrations."""

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Executable,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Select,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.rate_limits import rate_limits_table
from bitloot_runtime.retention import retention_log_table
from bitloot_runtime.tables import include_runtime_tables

metadata = MetaData()
include_runtime_tables(metadata)

products = Table(
    "products",
    metadata,
    Column("sku", Text, primary_key=True),
    Column("title", Text, nullable=False),
    # Where its keys are redeemed (Kinguin's `platform`, e.g. "Steam"); None: not said.
    Column("platform", Text, nullable=True),
    Column("kinguin_product_id", Text, nullable=False),
    Column("price", Numeric(18, 8), nullable=False),
    Column("currency", Text, nullable=False),
    Column("max_purchase_price", Numeric(18, 8), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What Kinguin last had of each product (the gateway's product.availability_changed): the
# latest observation wins, whatever order the events arrive in. No row: never observed.
product_availability = Table(
    "product_availability",
    metadata,
    Column("kinguin_product_id", Text, primary_key=True),
    Column("qty", Integer, nullable=False),
    Column("price", Numeric(18, 8), nullable=True),
    Column("is_preorder", Boolean, nullable=False),
    Column("release_date", Text, nullable=True),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Paid orders whose fulfillment has not ended (ix_orders_paid_unfulfilled's predicate).
PAID_UNFULFILLED = (
    "status = 'paid' AND (fulfilment_state IS NULL"
    " OR fulfilment_state NOT IN ('fulfilled', 'failed', 'refunded'))"
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("email", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("total", Numeric(18, 8), nullable=False),
    Column("currency", Text, nullable=False),
    Column("invoice_id", Text, nullable=True),
    Column("invoice_url", Text, nullable=True),
    Column("payment_id", Text, nullable=True),
    Column("payment_status", Text, nullable=True),
    Column("invoiced_at", DateTime(timezone=True), nullable=True),
    Column("paid_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("idempotency_key", Text, nullable=True, unique=True),
    # When (NOWPayments' clock) the order's last open payment failed or expired: a payment
    # opened before that was live all along, one opened after is a late payment.
    Column("closed_at", DateTime(timezone=True), nullable=True),
    # When the reconciler next asks NOWPayments about the order (None: nothing left to ask).
    Column("reconcile_at", DateTime(timezone=True), nullable=True),
    Column("reconcile_attempts", Integer, nullable=False, server_default="0"),
    Column("reconciled_at", DateTime(timezone=True), nullable=True),
    # The fulfillment saga's state as order.status_changed last told it (with its time,
    # so an older event arriving late changes nothing), for the customer's order page.
    # The saga announces only changes of the customer status and its end, so this is
    # coarser than the saga: `reserving` until the keys are delivered or the order ends.
    Column("fulfilment_state", Text, nullable=True),
    Column("fulfilment_at", DateTime(timezone=True), nullable=True),
    Column("request_hash", Text, nullable=True),
    # Whether delivery confirmed the key email went out (delivery.completed); None: not
    # heard. A fulfilled order whose email is unconfirmed is `keys_ready`, not delivered.
    Column("key_email_confirmed", Boolean, nullable=True),
    Index("ix_orders_created_at", "created_at"),
    Index("ix_orders_email", "email"),
    Index("ix_orders_created_at_order_id", "created_at", "order_id"),
    Index(
        "ix_orders_reconcile_at", "reconcile_at", postgresql_where=text("reconcile_at IS NOT NULL")
    ),
    # The metrics' paid orders not yet fulfilled (adapters/stats.py, `paid_unfulfilled`).
    Index("ix_orders_paid_unfulfilled", "paid_at", postgresql_where=text(PAID_UNFULFILLED)),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.order_id"), nullable=False),
    Column("sku", Text, nullable=False),
    Column("kinguin_product_id", Text, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("unit_price", Numeric(18, 8), nullable=False),
    Column("max_unit_price", Numeric(18, 8), nullable=False),
    PrimaryKeyConstraint("order_id", "sku"),
)

ipn_log = Table(
    "ipn_log",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("raw_body", LargeBinary, nullable=False),
    Column("signature_valid", Boolean, nullable=False),
    Column("payment_id", Text, nullable=True),
    Column("order_id", Uuid, nullable=True),
    Column("status", Text, nullable=True),
    Column("duplicate", Boolean, nullable=False),
    Column("result", Text, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    # `ipn`: NOWPayments called us; `poll`: the reconciler asked NOWPayments.
    Column("source", Text, nullable=False, server_default="ipn"),
    # Failed attempts so far, and how many of the latest in a row failed the same way
    # for a reason that is not transient (at PAYMENTS_IPN_MAX_ATTEMPTS it is given up).
    Column("retries", Integer, nullable=False, server_default="0"),
    Column("defects", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("replayed_by", Text, nullable=True),
    Column("replayed_at", DateTime(timezone=True), nullable=True),
    # The trace the IPN was received in (W3C traceparent; NULL when tracing is off).
    Column("traceparent", Text, nullable=True),
    Index("ix_ipn_log_order_id", "order_id"),
    Index("ix_ipn_log_payment_id_status", "payment_id", "status"),
    Index("ix_ipn_log_pending", "id", postgresql_where=text("processed_at IS NULL")),
    # Retention's cut-off queries (adapters/retention.py).
    Index("ix_ipn_log_retention", "signature_valid", "received_at"),
)

# One row per NOWPayments payment; `seen` holds every status applied or refused as stale,
# so a repeated IPN is recognised whatever order the copies arrive in.
payments = Table(
    "payments",
    metadata,
    Column("payment_id", Text, primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.order_id"), nullable=False),
    Column("parent_payment_id", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("seen", ARRAY(Text), nullable=False),
    Column("price_amount", Numeric(30, 12), nullable=True),
    Column("price_currency", Text, nullable=True),
    Column("pay_amount", Numeric(30, 12), nullable=True),
    Column("actually_paid", Numeric(30, 12), nullable=True),
    Column("pay_currency", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_payments_order_id", "order_id"),
    Index("ix_payments_created_at_payment_id", "created_at", "payment_id"),
)

# What needs an admin's eye: partial payments, re-deposits, mismatched amounts, IPNs for
# orders we do not know.
flags = Table(
    "flags",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", Text, nullable=False),
    Column("order_id", Uuid, nullable=True),
    Column("payment_id", Text, nullable=True),
    Column("ipn_id", BigInteger, ForeignKey("ipn_log.id"), nullable=True),
    Column("detail", Text, nullable=False),
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # open, then what an admin decided: accepted, refund_due, dismissed (or replayed, for
    # a processing_error whose IPN was put back in the queue); who, when and why.
    Column("status", Text, nullable=False, server_default="open"),
    Column("resolved_by", Text, nullable=True),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_flags_order_id", "order_id"),
    Index("ix_flags_payment_id", "payment_id"),
    Index("ix_flags_open", "id", postgresql_where=text("status = 'open'")),
    # Whether a flag names an IPN (retention keeps those; the foreign key's own check).
    Index("ix_flags_ipn_id", "ipn_id", postgresql_where=text("ipn_id IS NOT NULL")),
)

# Money to give back: recorded when an admin decides a flagged payment is refunded (the
# refund path itself, payouts included, builds on these rows).
refunds = Table(
    "refunds",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("order_id", Uuid, ForeignKey("orders.order_id"), nullable=False),
    Column("payment_id", Text, nullable=True),
    Column("flag_id", BigInteger, ForeignKey("flags.id"), nullable=True, unique=True),
    Column("amount", Numeric(30, 12), nullable=False),
    Column("currency", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="due"),
    Column("requested_by", Text, nullable=False),
    Column("note", Text, nullable=True),
    # For a failed order: what made it fail (the saga's stage), for the customer's email.
    Column("cause", Text, nullable=True),
    # The customer's claim: where the money goes (and the memo/tag some currencies need).
    Column("payout_address", Text, nullable=True),
    Column("payout_extra_id", Text, nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    # The admin's decision (approve, reject, refunded outside BitLoot) and why.
    Column("decided_by", Text, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decision_note", Text, nullable=True),
    # The payout's outcome: its blockchain transaction, or the error an admin acts on.
    Column("transaction_id", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_refunds_order_id", "order_id"),
    # One refund per order for a failed order or unrevealed keys, however often told.
    Index(
        "ux_refunds_order_reason",
        "order_id",
        "reason",
        unique=True,
        postgresql_where=text("flag_id IS NULL"),
    ),
    Index("ix_refunds_status_id", "status", "id"),
)

# Fixed-window counters of the refund claim page (claims and new links), shared by every
# instance.
rate_limits = rate_limits_table(metadata)

# What retention deleted, one row per batch (bitloot_runtime.retention).
retention_log = retention_log_table(metadata)

# Refund payouts: the row is committed before NOWPayments is asked, carrying the
# `unique_external_id` it is asked with (`refund-<id>`, then `refund-<id>-2`… for a new
# attempt after a refused or failed one). `requesting`: asked, answer not known yet;
# `refused`: NOWPayments surely created nothing; then NOWPayments' own statuses.
payouts = Table(
    "payouts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("refund_id", BigInteger, ForeignKey("refunds.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("unique_external_id", Text, nullable=False, unique=True),
    Column("status", Text, nullable=False),
    Column("provider_payout_id", Text, nullable=True, unique=True),
    Column("batch_id", Text, nullable=True),
    Column("address", Text, nullable=False),
    Column("extra_id", Text, nullable=True),
    Column("currency", Text, nullable=False),
    Column("amount", Numeric(30, 12), nullable=False),
    Column("hash", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("refund_id", "attempt", name="ux_payouts_refund_attempt"),
    # At most one payout per refund that may still pay (or has paid).
    Index(
        "ux_payouts_live_refund",
        "refund_id",
        unique=True,
        postgresql_where=text("status NOT IN ('failed', 'rejected', 'refused')"),
    ),
    Index("ix_payouts_status_updated", "status", "updated_at"),
)

# Every payout IPN received, authentic or not; an authentic body received again is a
# duplicate and not stored twice. `pending` ones are applied by the payout runner.
payout_ipns = Table(
    "payout_ipns",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("raw_body", LargeBinary, nullable=False),
    Column("body_sha256", Text, nullable=False),
    Column("signature_valid", Boolean, nullable=False),
    Column("provider_payout_id", Text, nullable=True),
    Column("status", Text, nullable=True),
    Column("result", Text, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    Index(
        "ux_payout_ipns_authentic_body",
        "body_sha256",
        unique=True,
        postgresql_where=text("signature_valid"),
    ),
    Index("ix_payout_ipns_pending", "id", postgresql_where=text("result = 'pending'")),
    # Retention's candidates (adapters.retention).
    Index("ix_payout_ipns_retention", "signature_valid", "received_at"),
)


def by_key(column: Column[Any], key: object, *, lock: bool) -> Select[Any]:
    """The row of `column`'s table whose `column` is `key`; with `lock`, held FOR UPDATE
    until the transaction ends."""
    statement = select(column.table).where(column == key)
    return statement.with_for_update() if lock else statement


def newest(table: Table, limit: int, before_id: int | None, **equal: object) -> Select[Any]:
    """Up to `limit` rows of `table`, newest (highest id) first, with ids below
    `before_id`, and each column named in `equal` equal to its value unless that is None."""
    statement = select(table).order_by(table.c.id.desc()).limit(limit)
    for name, value in equal.items():
        if value is not None:
            statement = statement.where(table.c[name] == value)
    if before_id is not None:
        statement = statement.where(table.c.id < before_id)
    return statement


R = TypeVar("R")


class SqlRepository:
    """A repository in the unit of work's transaction; `_all`, `_first` and `_one` read
    a statement's rows as `record`s (built from the columns by name)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def _all(self, record: Callable[..., R], statement: Executable) -> list[R]:
        return [record(**row._mapping) for row in await self._uow.session.execute(statement)]

    async def _first(self, record: Callable[..., R], statement: Executable) -> R | None:
        row = (await self._uow.session.execute(statement)).first()
        return record(**row._mapping) if row else None

    async def _one(self, record: Callable[..., R], statement: Executable) -> R:
        return record(**(await self._uow.session.execute(statement)).one()._mapping)
