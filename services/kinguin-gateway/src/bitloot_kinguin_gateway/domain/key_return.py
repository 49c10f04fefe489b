"""Rules about returning an order's unclaimed keys to Kinguin (features/ReturnKeys.md).

Kinguin takes keys back, and refunds their price to our balance, only within 24 hours of
their delivery, never for a pre-order, never for a claimed key or a wholesale order, and
it accepts ONE return request per order. So a request is recorded before it is sent and
never sent twice: what became of a request whose answer was lost is read from the order
(its keys `RETURNED` or `REFUNDED`, or the order `refunded`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

# Kinguin's window: "24 hours have passed since the key was delivered".
RETURN_WINDOW: Final = timedelta(hours=24)

# A key-return row's state. `requested` is committed before the call; the others settle it.
REQUESTED: Final = "requested"
RETURNED: Final = "returned"
REFUSED: Final = "refused"
NOT_RETURNABLE: Final = "not_returnable"
UNKNOWN: Final = "unknown"
KEY_RETURN_STATES: Final = frozenset({REQUESTED, RETURNED, REFUSED, NOT_RETURNABLE, UNKNOWN})
# The states in which Kinguin may have carried our request out: its `refunded` of the
# order is then our own admin's refund, not news about the order.
ASKED: Final = frozenset({REQUESTED, RETURNED, UNKNOWN})

# Why we did not ask (`not_returnable`), or why we cannot tell (`unknown`).
PREORDER: Final = "preorder"
WINDOW_PASSED: Final = "window_passed"
NOT_COMPLETED: Final = "not_completed"
NO_RETURN_SEEN: Final = "no_return_seen"

# Key Statuses (api/order/v1/README.md) of a key Kinguin took back.
RETURNED_KEY_STATUSES: Final = frozenset({"RETURNED", "REFUNDED"})


def not_returnable_reason(
    *, is_preorder: bool, status: str, delivered_at: datetime | None, now: datetime
) -> str | None:
    """Why Kinguin's rules forbid asking at all, per what we know; None when we may ask.

    `delivered_at` is when the keys were delivered by our records (the completed status's
    time, else when we fetched them): if even that is over 24 hours ago, Kinguin's own
    delivery time is too.
    """
    if is_preorder:
        return PREORDER
    if status != "completed":
        return NOT_COMPLETED
    if delivered_at is not None and now - delivered_at > RETURN_WINDOW:
        return WINDOW_PASSED
    return None


def return_happened(order_status: str, key_statuses: Iterable[str]) -> bool:
    """Whether the Order Object shows that a return request was carried out: the order
    refunded, or any of its keys returned or refunded (keys that were claimed meanwhile
    stay delivered, so one is enough)."""
    if order_status == "refunded":
        return True
    return any(status in RETURNED_KEY_STATUSES for status in key_statuses)


@dataclass(frozen=True)
class KeyReturn:
    """What we asked Kinguin to take back for one of its orders, and what came of it."""

    kinguin_order_id: str
    order_id: UUID
    state: str
    reason: str | None
    key_count: int | None
    requested_by: str | None
    created_at: datetime
    settled_at: datetime | None
