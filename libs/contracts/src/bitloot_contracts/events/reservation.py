"""Buying the keys from Kinguin: fulfillment's requests and the gateway's answers."""

from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from bitloot_contracts import topics
from bitloot_contracts.events.base import Contract, Event
from bitloot_contracts.events.fields import Code, Count, Identifier, Money, Quantity, Text

KinguinOrderStatus = Literal["processing", "completed", "canceled", "refunded"]
"""A Kinguin order status."""


class ReservationLine(Contract):
    """One product to buy, with the price ceiling carried over from the order."""

    kinguin_product_id: Identifier
    qty: Quantity
    max_unit_price: Money = Field(description="Highest Kinguin price accepted per key.")


class ReservationRequested(Event):
    """Fulfillment asks the gateway to buy these products (exactly once per order)."""

    topic: ClassVar[str] = topics.RESERVATION_REQUESTED
    schema_version: Literal[1] = 1

    # Kinguin takes at most 10 products per order.
    lines: tuple[ReservationLine, ...] = Field(min_length=1, max_length=10)


class ReservationPoll(Event):
    """Fulfillment asks the gateway to look the Kinguin order up again (webhook overdue)."""

    topic: ClassVar[str] = topics.RESERVATION_POLL
    schema_version: Literal[1] = 1

    kinguin_order_id: Identifier | None = Field(
        default=None, description="None: look the order up by our order id (orderExternalId)."
    )
    attempt: Count


class ReservationCreated(Event):
    """Kinguin accepted the order; keys follow when its status reaches `completed` (for a
    preorder, on its release date). Version 2 says whether it is a preorder."""

    topic: ClassVar[str] = topics.RESERVATION_CREATED
    schema_version: Literal[2] = 2

    kinguin_order_id: Identifier
    status: KinguinOrderStatus
    is_preorder: bool = Field(
        default=False, description="Kinguin delivers the keys on the release date."
    )
    preorder_release_date: date | None = Field(
        default=None, description="Kinguin's preorderReleaseDate, when it gives one."
    )


class ReservationFailed(Event):
    """Kinguin could not or would not sell the keys; the order cannot be fulfilled as is."""

    topic: ClassVar[str] = topics.RESERVATION_FAILED
    schema_version: Literal[1] = 1

    code: Code
    reason: Text


class KinguinWebhook(Event):
    """Kinguin reported an order status (authenticated and deduplicated by the gateway)."""

    topic: ClassVar[str] = topics.KINGUIN_WEBHOOK
    schema_version: Literal[1] = 1

    kinguin_order_id: Identifier
    status: KinguinOrderStatus
    updated_at: AwareDatetime = Field(
        description="Kinguin's updatedAt: webhooks arrive out of order, compare this."
    )
