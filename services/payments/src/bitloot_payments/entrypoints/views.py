"""How orders, lines, payments, IPNs, flags, refunds and products are written in JSON
answers: the response models of the endpoints, read from the records' attributes."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    WithJsonSchema,
)

from bitloot_contracts.customer import CustomerStatus, customer_status_of_refund
from bitloot_payments.domain.records import Refund
from bitloot_payments.domain.refunds import as_status

FULFILMENT_STATE = (
    "`customer_status` is what to tell the customer. `fulfilment_state` is the fulfillment "
    "saga's state as `order.status_changed` last announced it (null before that): the saga "
    "announces only changes of the customer status and the end of the order, so it stays "
    "`reserving` while the keys are bought and sent; fulfillment's timeline has every step."
)


def money(amount: Decimal) -> str:
    """A plain decimal string without trailing zeros or exponent (``12.5``, ``100``)."""
    return format(amount.normalize(), "f")


def utc(moment: datetime) -> str:
    """ISO-8601 in UTC, whatever time zone the database session uses."""
    return moment.astimezone(UTC).isoformat()


Money = Annotated[
    Decimal,
    PlainSerializer(money, return_type=str),
    WithJsonSchema({"type": "string", "description": "A decimal: `12.5`, `100`."}),
]
Utc = Annotated[
    datetime,
    PlainSerializer(utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _text(raw: object) -> object:
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw


class Attributes(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LineItem(Attributes):
    sku: str
    qty: int


class TitledLine(LineItem):
    """A line with the catalog's title of its product now (the admin shows it)."""

    title: str | None


class OrderFields(Attributes):
    """What the customer and the admins both see of an order."""

    order_id: UUID
    email: str
    status: str
    total: Money
    currency: str
    payment_status: str | None
    invoice_url: str | None


class OrderItem(OrderFields):
    created_at: Utc


class AvailabilityItem(Attributes):
    """What Kinguin last had of the product."""

    qty: int
    price_eur: Money | None = Field(validation_alias="price")
    is_preorder: bool
    release_date: str | None
    observed_at: Utc


class ProductItem(Attributes):
    sku: str
    title: str
    kinguin_product_id: str
    price: Money
    currency: str
    max_purchase_price: Money
    active: bool
    platform: str | None
    updated_at: Utc | None
    kinguin_availability: AvailabilityItem | None = Field(
        validation_alias="availability",
        description="Null: never observed (checkout is not refused).",
    )


class Products(BaseModel):
    items: list[ProductItem]


class PaymentItem(Attributes):
    payment_id: str
    order_id: UUID
    parent_payment_id: str | None
    status: str
    price_amount: Money | None
    price_currency: str | None
    pay_amount: Money | None
    actually_paid: Money | None
    pay_currency: str | None
    created_at: Utc
    updated_at: Utc


class IpnItem(Attributes):
    """One logged IPN (or polled status: `source`)."""

    id: int
    received_at: Utc
    source: str
    signature_valid: bool
    payment_id: str | None
    order_id: UUID | None
    status: str | None
    duplicate: bool
    result: str
    processed_at: Utc | None
    retries: int
    last_error: str | None
    next_attempt_at: Utc | None
    replayed_by: str | None
    replayed_at: Utc | None


class IpnDetail(IpnItem):
    """An IPN with its raw body as text (up to 64 KiB: only shown one at a time)."""

    raw_body: Annotated[str, BeforeValidator(_text)]


class FlagItem(Attributes):
    id: int
    kind: str
    detail: str
    order_id: UUID | None
    payment_id: str | None
    ipn_id: int | None
    data: dict[str, JsonValue]
    created_at: Utc | None
    status: str
    resolved_by: str | None
    resolved_at: Utc | None
    note: str | None


class PaymentDetail(PaymentItem):
    ipns: list[IpnDetail]
    flags: list[FlagItem]


class RefundItem(Attributes):
    """Every field of a refund, and what its status means to the customer."""

    id: int
    order_id: UUID
    payment_id: str | None
    flag_id: int | None
    amount: Money
    currency: str
    reason: str
    cause: str | None
    status: str
    # Null once the refund no longer speaks for the order (canceled: the keys came).
    customer_status: CustomerStatus | None
    requested_by: str
    note: str | None
    payout_address: str | None
    payout_extra_id: str | None
    claimed_at: Utc | None
    decided_by: str | None
    decided_at: Utc | None
    decision_note: str | None
    transaction_id: str | None
    error: str | None
    created_at: Utc | None
    updated_at: Utc | None


def refund_item(refund: Refund) -> RefundItem:
    status = customer_status_of_refund(as_status(refund.status))
    return RefundItem.model_validate({**vars(refund), "customer_status": status})


class RefundDetail(RefundItem):
    # Payouts are recorded by the payout runner; none before a refund is approved.
    payouts: list[dict[str, JsonValue]] = []


def refund_detail(refund: Refund) -> RefundDetail:
    return RefundDetail.model_validate(dict(refund_item(refund)))
