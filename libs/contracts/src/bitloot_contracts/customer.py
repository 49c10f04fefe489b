"""What the customer is told about an order, in one vocabulary for every place that
tells them (the order page of payments, the live status of fulfillment), so that both
tell one story."""

from typing import Final, Literal

from bitloot_contracts.events.order import OrderState
from bitloot_contracts.events.refund import RefundStatus

CustomerStatus = Literal[
    "awaiting_payment",
    "payment_received",
    "under_review",
    "delivering",
    # The keys are stored but the email may not have reached the customer (a crash cut
    # the SMTP conversation twice): the order page offers a fresh link, an admin sees it.
    "keys_ready",
    "delivered",
    "failed",
    "refund_due",
    "refund_claimed",
    "refunded",
    "refund_failed",
    "refund_rejected",
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


_OF_REFUND: Final[dict[RefundStatus, CustomerStatus | None]] = {
    "due": "refund_due",
    "claimed": "refund_claimed",
    "approved": "refund_claimed",
    "sending": "refund_claimed",
    "sent": "refunded",
    "refunded_outside": "refunded",
    # The payout failed: an admin acts (a new address, another try, or outside BitLoot).
    "failed": "refund_failed",
    "rejected": "refund_rejected",
    # The order was fulfilled after all: the saga's status tells the story again.
    "canceled": None,
}


def customer_status_of_refund(status: RefundStatus | None) -> CustomerStatus | None:
    """What a refund's status means to the customer; None when the refund no longer
    speaks for the order (none, or canceled because the keys came after all). Where an
    order has a refund that speaks, it speaks instead of the saga's state."""
    return _OF_REFUND[status] if status is not None else None


def customer_status_of_order(
    saga: OrderState | None, refund: RefundStatus | None, *, email_confirmed: bool = True
) -> CustomerStatus | None:
    """The customer status of a paid order, the same wherever it is shown: its refund's,
    if one speaks for it; else the saga's, except that a fulfilled order whose key email
    is unconfirmed is `keys_ready`, not `delivered`."""
    if (status := customer_status_of_refund(refund)) is not None:
        return status
    if saga == "fulfilled" and not email_confirmed:
        return "keys_ready"
    return customer_status_of_saga(saga)
