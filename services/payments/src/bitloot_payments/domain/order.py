"""An order's price: the catalog's prices times quantities, in one currency."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class PricedLine:
    """One line of an order at the catalog's price when it was placed."""

    sku: str
    kinguin_product_id: str
    qty: int
    unit_price: Decimal
    max_unit_price: Decimal
    currency: str


class MixedCurrencies(ValueError):
    """The lines are priced in more than one currency, so they have no single total."""

    def __init__(self, currencies: set[str]) -> None:
        super().__init__(
            f"Lines are priced in several currencies: {', '.join(sorted(currencies))}."
        )


def order_total(lines: Sequence[PricedLine]) -> tuple[Decimal, str]:
    """The total and currency of `lines` (at least one); `MixedCurrencies` if they differ."""
    if not lines:
        raise ValueError("An order needs at least one line.")
    currencies = {line.currency for line in lines}
    if len(currencies) > 1:
        raise MixedCurrencies(currencies)
    total = sum((line.unit_price * line.qty for line in lines), Decimal(0))
    return total, currencies.pop()


_CONFIRMING = frozenset({"confirming", "confirmed", "sending"})


def customer_status(status: str, payment_status: str | None) -> str:
    """What the customer is told about an order: where their payment stands, in words
    that do not depend on NOWPayments' vocabulary."""
    if status in ("paid", "refunded"):
        return status
    if status == "failed":
        return "payment_failed"
    if status == "created":
        return "awaiting_invoice"
    if payment_status in _CONFIRMING:
        return "confirming_payment"
    if payment_status in ("partially_paid", "finished"):
        # Money arrived but does not cover the order: an admin is looking at it.
        return "under_review"
    return "awaiting_payment"
