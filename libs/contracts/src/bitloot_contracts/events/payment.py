"""Events published by the payments service as NOWPayments reports on a payment."""

from typing import ClassVar, Literal

from pydantic import Field

from bitloot_contracts import topics
from bitloot_contracts.events.base import Contract, Event
from bitloot_contracts.events.fields import (
    CurrencyCode,
    Email,
    Identifier,
    Money,
    PositiveMoney,
    Quantity,
)

PaymentStatus = Literal[
    "waiting",
    "confirming",
    "confirmed",
    "sending",
    "partially_paid",
    "finished",
    "failed",
    "refunded",
    "expired",
]
"""A NOWPayments payment status."""


class OrderLine(Contract):
    """One product of a paid order and the most BitLoot will pay Kinguin for one key."""

    sku: Identifier
    kinguin_product_id: Identifier
    qty: Quantity
    max_unit_price: Money = Field(description="Highest Kinguin price accepted per key.")


class PaymentStatusChanged(Event):
    """NOWPayments moved a payment to a new status (statuses never move backwards)."""

    topic: ClassVar[str] = topics.PAYMENT_STATUS_CHANGED
    schema_version: Literal[1] = 1

    payment_id: Identifier
    status: PaymentStatus
    previous_status: PaymentStatus | None = None


class PaymentFinished(Event):
    """The order is paid in full, amount and currency checked: fulfillment may start."""

    topic: ClassVar[str] = topics.PAYMENT_FINISHED
    schema_version: Literal[1] = 1

    payment_id: Identifier
    amount: PositiveMoney
    currency: CurrencyCode
    customer_email: Email
    # Kinguin takes at most 10 products per order.
    lines: tuple[OrderLine, ...] = Field(min_length=1, max_length=10)
