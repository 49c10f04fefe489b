"""An order's price: the catalog's prices times quantities, in one currency."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, TypeGuard, get_args

from bitloot_contracts.customer import CustomerStatus, customer_status_of_order
from bitloot_contracts.events import OrderState
from bitloot_contracts.events.refund import RefundStatus

_SAGA_STATES: Final = frozenset(get_args(OrderState))
# An order paid, or whose money is owed back, with no saga or refund to speak for it.
_PAID_OR_OWED: Final[dict[str, CustomerStatus]] = {
    "paid": "payment_received",
    "refund_due": "refund_due",
    "refunded": "refunded",
}


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


def _is_saga_state(value: object) -> TypeGuard[OrderState]:
    return value in _SAGA_STATES


def saga_state(value: str | None) -> OrderState | None:
    """A stored saga state as the contract's type (None for anything else)."""
    return value if _is_saga_state(value) else None


def customer_status(
    status: str,
    fulfilment_state: OrderState | None,
    under_review: bool,
    refund: RefundStatus | None = None,
    *,
    email_confirmed: bool = True,
) -> CustomerStatus:
    """What the customer is told about an order: once it is paid (or owed back), the
    words every place uses (`customer_status_of_order`: its refund's if one speaks for
    it, else the saga's); before that where their payment stands; `under_review` when an
    admin has a flag of it to decide."""
    if refund is None and status in ("refund_due", "refunded"):
        return _PAID_OR_OWED[status]
    if status in _PAID_OR_OWED or refund is not None:
        told = customer_status_of_order(fulfilment_state, refund, email_confirmed=email_confirmed)
        if told is not None:
            return told
        if status in _PAID_OR_OWED:
            return _PAID_OR_OWED[status]
    if under_review:
        return "under_review"
    if status in ("failed", "expired"):
        return "failed"
    return "awaiting_payment"
