"""What the service stores, as its use cases see it: the records its repositories
(`handlers.ports`) take and give back."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from bitloot_payments.domain.payment import OrderState, PaymentState

OPEN = "open"
PENDING = "pending"
ERROR = "error"


@dataclass(frozen=True)
class Order:
    """An order as stored."""

    order_id: UUID
    email: str
    status: str
    total: Decimal
    currency: str
    invoice_id: str | None
    invoice_url: str | None
    payment_id: str | None
    payment_status: str | None
    invoiced_at: datetime | None
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    idempotency_key: str | None = None
    request_hash: str | None = None
    closed_at: datetime | None = None
    reconcile_at: datetime | None = None
    reconcile_attempts: int = 0
    reconciled_at: datetime | None = None
    fulfilment_state: str | None = None
    fulfilment_at: datetime | None = None
    key_email_confirmed: bool | None = None


@dataclass(frozen=True)
class Line:
    """One line of a stored order."""

    sku: str
    kinguin_product_id: str
    qty: int
    unit_price: Decimal
    max_unit_price: Decimal
    # The catalog's title and platform of the line's product now (None if it left the
    # catalog, or for the platform if the catalog does not say).
    title: str | None = None
    platform: str | None = None


@dataclass(frozen=True)
class PaymentRecord:
    """A stored payment, with the amounts of the latest IPN applied to it."""

    payment_id: str
    order_id: UUID
    parent_payment_id: str | None
    status: str
    seen: list[str]
    price_amount: Decimal | None
    price_currency: str | None
    pay_amount: Decimal | None
    actually_paid: Decimal | None
    pay_currency: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PaymentFilter:
    """Which payments to list (each None: any); `since` inclusive, `until` exclusive."""

    status: str | None = None
    order_id: UUID | None = None
    payment_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Flag:
    """One thing for an admin: `kind` (``partially_paid``, ``redeposit``, …) and why;
    `status` ``open`` until an admin resolves it (`resolved_by`, `resolved_at`, `note`)."""

    kind: str
    detail: str
    order_id: UUID | None = None
    payment_id: str | None = None
    ipn_id: int | None = None
    id: int = 0
    created_at: datetime | None = None
    # The amounts behind it (price, pay amount, actually paid, the difference), as text.
    data: dict[str, str | None] = field(default_factory=dict)
    status: str = OPEN
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class IpnEntry:
    """One IPN as received: `payment_id`, `order_id` and `status` as the body claims."""

    raw_body: bytes
    signature_valid: bool
    result: str
    payment_id: str | None = None
    order_id: UUID | None = None
    status: str | None = None
    duplicate: bool = False
    source: str = "ipn"
    # The trace it was received in, when tracing is on: applying it goes on in it.
    traceparent: str | None = None


@dataclass(frozen=True)
class LoggedIpn:
    """An IPN as logged; `processed_at` None while it waits for the processor."""

    id: int
    received_at: datetime
    signature_valid: bool
    payment_id: str | None
    order_id: UUID | None
    status: str | None
    duplicate: bool
    result: str
    processed_at: datetime | None
    raw_body: bytes
    source: str = "ipn"
    retries: int = 0
    defects: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    replayed_by: str | None = None
    replayed_at: datetime | None = None
    traceparent: str | None = None


@dataclass(frozen=True)
class IpnFilter:
    """Which logged IPNs to list (each None: any)."""

    order_id: UUID | None = None
    payment_id: str | None = None
    result: str | None = None
    signature_valid: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None


@dataclass(frozen=True)
class Processed:
    """An IPN's result; `order_id` when the processor linked it to its order (a
    re-deposit names only its parent payment)."""

    ipn_id: int
    result: str
    duplicate: bool
    order_id: UUID | None = None


@dataclass(frozen=True)
class Refund:
    """An amount (in the currency the customer paid in) owed back, and why."""

    order_id: UUID
    amount: Decimal
    currency: str
    reason: str
    requested_by: str
    payment_id: str | None = None
    flag_id: int | None = None
    note: str | None = None
    status: str = "due"
    id: int = 0
    created_at: datetime | None = None
    cause: str | None = None
    payout_address: str | None = None
    payout_extra_id: str | None = None
    claimed_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    transaction_id: str | None = None
    error: str | None = None
    updated_at: datetime | None = None


def order_state(order: Order) -> OrderState:
    """What the payment rules know of `order`."""
    return OrderState(
        order.order_id,
        order.total,
        order.currency,
        order.status,
        order.payment_id,
        order.payment_status,
        order.closed_at,
    )


def payment_state(record: PaymentRecord | None) -> PaymentState:
    """What the payment rules know of a stored payment (a new one if None)."""
    if record is None:
        return PaymentState()
    return PaymentState(record.order_id, record.status, frozenset(record.seen))
