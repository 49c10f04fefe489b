"""Rules about one order's reservation at Kinguin."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final, cast, get_args
from uuid import UUID

from pydantic import JsonValue

from bitloot_contracts.events import KinguinOrderStatus

KINGUIN_STATUSES: Final[frozenset[str]] = frozenset(get_args(KinguinOrderStatus))
# A reservation is `placing` from before Kinguin is called until Kinguin answers.
STATES: Final[frozenset[str]] = frozenset({"placing", "placed", "failed"})
# A Kinguin order in one of these states holds no keys for the customer: another may be
# bought in its place.
GONE: Final[frozenset[str]] = frozenset({"canceled", "refunded"})


def external_id(order_id: UUID, attempt: int) -> str:
    """The `orderExternalId` of attempt `attempt` at buying order `order_id`: our order
    id for the first, `<order id>-<attempt>` after it (Kinguin keeps one order per id)."""
    if attempt < 1:
        raise ValueError(f"Attempt {attempt} is not a positive number.")
    return str(order_id) if attempt == 1 else f"{order_id}-{attempt}"


def is_live(status: str | None) -> bool:
    """Whether a Kinguin order in `status` still stands (processing or completed)."""
    return as_kinguin_status(status) is not None and status not in GONE


def as_kinguin_status(value: str | None) -> KinguinOrderStatus | None:
    """Kinguin's status as the contracts spell it (case and blanks aside), or None when
    it is not a status the contracts know."""
    normal = value.strip().lower() if value else None
    return cast(KinguinOrderStatus, normal) if normal in KINGUIN_STATUSES else None


def is_newer(incoming: datetime | None, known: datetime | None) -> bool:
    """Whether a status stamped `incoming` supersedes the one stamped `known`.

    Kinguin's notifications arrive out of order; only a strictly later `updatedAt` wins.
    A status with no time at all (an order read back at creation) never overrides one
    that has a time.
    """
    if known is None:
        return True
    return incoming is not None and incoming > known


def expected_key_count(lines: Iterable[Mapping[str, object]]) -> int:
    """How many keys the order bought: the sum of its lines' quantities."""
    total = 0
    for line in lines:
        qty = line["qty"]
        if not isinstance(qty, int):
            raise TypeError(f"Line quantity {qty!r} is not an int.")
        total += qty
    return total


class PriceAboveMaximum(Exception):
    """Kinguin's current price for a product is above what the order allows per key."""

    code: Final = "price_above_maximum"

    def __init__(self, product_id: str, price: Decimal, maximum: Decimal) -> None:
        super().__init__(
            f"Kinguin sells {product_id} at {price} per key, above the order's maximum of "
            f"{maximum}; not buying at a loss."
        )


def check_price(product_id: str, price: Decimal, maximum: Decimal) -> Decimal:
    """`price`, the one to offer Kinguin, if it is within `maximum`; else
    `PriceAboveMaximum`. Equal is allowed: the ceiling is inclusive."""
    if price > maximum:
        raise PriceAboveMaximum(product_id, price, maximum)
    return price


@dataclass(frozen=True)
class Reservation:
    order_id: UUID
    reservation_id: UUID
    state: str
    lines: list[dict[str, JsonValue]]
    kinguin_order_id: str | None
    kinguin_status: str | None
    kinguin_updated_at: datetime | None
    customer_email: str | None
    failure_code: str | None
    failure_reason: str | None
    settled_at: datetime | None
    keys_sealed_at: datetime | None
    keys_count: int | None
    attempt: int
    created_at: datetime
    updated_at: datetime

    @property
    def external_id(self) -> str:
        """The orderExternalId of the current attempt."""
        return external_id(self.order_id, self.attempt)


@dataclass(frozen=True)
class Attempt:
    """One orderExternalId used for an order, and what Kinguin made of it."""

    external_id: str
    order_id: UUID
    attempt: int
    kinguin_order_id: str | None
    kinguin_status: str | None
