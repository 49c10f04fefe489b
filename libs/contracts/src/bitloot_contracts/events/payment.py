"""Events published by the payments service as NOWPayments reports on a payment."""

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

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

ProductText = Annotated[str, StringConstraints(min_length=1, max_length=512)]
"""A product's title or platform as the catalog spells it (shown escaped, never trusted)."""

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
    """One product of a paid order and the most BitLoot will pay Kinguin for one key;
    since version 2 of payment.finished, also what the customer bought, in words (for
    delivery's key email and reveal page): the catalog's title and, when the catalog
    knows it, the platform the key is redeemed on (Kinguin's ``platform``, e.g. "Steam")."""

    sku: Identifier
    kinguin_product_id: Identifier
    qty: Quantity
    max_unit_price: Money = Field(description="Highest Kinguin price accepted per key.")
    title: ProductText | None = Field(
        default=None, description="The catalog's title; absent from version 1 messages."
    )
    platform: ProductText | None = Field(
        default=None,
        description="Where the key is redeemed (Kinguin's platform); None when unknown.",
    )


class PaymentStatusChanged(Event):
    """NOWPayments moved a payment to a new status (statuses never move backwards)."""

    topic: ClassVar[str] = topics.PAYMENT_STATUS_CHANGED
    schema_version: Literal[1] = 1

    payment_id: Identifier
    status: PaymentStatus
    previous_status: PaymentStatus | None = None


class PaymentFinished(Event):
    """The order is paid in full, amount and currency checked: fulfillment may start.

    Version 2 adds each line's optional `title` and `platform`; a version 1 message (no
    such fields) is still read, with both None. Version 3 accepts internationalised
    customer addresses (`bitloot_contracts.events.fields.Email`). Consumers are deployed
    before the producer: a consumer on an older version refuses what it does not know."""

    topic: ClassVar[str] = topics.PAYMENT_FINISHED
    schema_version: Literal[1, 2, 3] = 3

    payment_id: Identifier
    amount: PositiveMoney
    currency: CurrencyCode
    customer_email: Email
    # Kinguin takes at most 10 products per order.
    lines: tuple[OrderLine, ...] = Field(min_length=1, max_length=10)
