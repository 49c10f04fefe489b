"""What the customer is told about an order, in one vocabulary for every place that
tells them (the order page of payments, the live status of fulfillment), so that both
tell one story."""

from typing import Final, Literal

from bitloot_contracts.events.order import OrderState

CustomerStatus = Literal[
    "awaiting_payment",
    "payment_received",
    "under_review",
    "delivering",
    "delivered",
    "failed",
    "refund_due",
    "refunded",
]
"""Where an order stands, in the customer's words."""

_OF_SAGA: Final[dict[OrderState, CustomerStatus]] = {
    "paid": "payment_received",
    "reserving": "delivering",
    "reserved": "delivering",
    "keys_requested": "delivering",
    "delivering": "delivering",
    "fulfilled": "delivered",
    "failed": "failed",
    # Kinguin refunded an order whose keys had left: an admin decides what happens.
    "refunded": "under_review",
}


def customer_status_of_saga(state: OrderState | None) -> CustomerStatus | None:
    """What a state of the fulfillment saga means to the customer (None: no saga yet)."""
    return _OF_SAGA[state] if state is not None else None
