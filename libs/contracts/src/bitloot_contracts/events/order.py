"""The fulfillment saga's view of an order, for admins, projections and the live page."""

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from bitloot_contracts import topics
from bitloot_contracts.events.base import Event
from bitloot_contracts.events.fields import Code, Count, Email, Text

OrderState = Literal[
    "paid",
    "reserving",
    "reserved",
    "keys_requested",
    "delivering",
    "fulfilled",
    "failed",
    "refunded",
]
"""A state of the per-order fulfillment saga."""


class OrderStatusChanged(Event):
    """The saga moved the order to a state its consumers act on.

    Announced only when the move changes what the customer is told
    (`customer_status_of_saga`) or ends the order (fulfilled, failed, refunded). Steps
    that do neither (reserved, keys_requested, delivering after reserving, a note on an
    unchanged state) are in fulfillment's timeline only, so consumers see the saga's
    state coarser than it moves: paid, reserving, fulfilled on the happy path."""

    topic: ClassVar[str] = topics.ORDER_STATUS_CHANGED
    schema_version: Literal[1] = 1

    status: OrderState
    previous_status: OrderState | None = Field(
        default=None,
        description="The saga's state just before this transition, whether or not it was "
        "announced (so not always the status of the previous event); null on the first.",
    )
    reason: Text | None = None


class OrderFulfilled(Event):
    """Terminal success: the customer can reveal every key."""

    topic: ClassVar[str] = topics.ORDER_FULFILLED
    schema_version: Literal[1] = 1

    key_count: Count


class OrderFailed(Event):
    """Terminal failure, with the stage and reason an admin needs to act on it."""

    topic: ClassVar[str] = topics.ORDER_FAILED
    schema_version: Literal[1] = 1

    stage: Code
    reason: Text


class OrderDelayed(Event):
    """The keys are bought but Kinguin has not delivered them by the order's deadline (a
    slow order, or a preorder waiting for its release): the customer is told once, and
    the saga keeps waiting instead of failing the order."""

    topic: ClassVar[str] = topics.ORDER_DELAYED
    schema_version: Literal[1, 2] = 2

    customer_email: Email
    is_preorder: bool
    release_date: date | None = Field(
        default=None, description="When Kinguin releases a preorder's keys, if it said."
    )
