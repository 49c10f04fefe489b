"""How a NOWPayments payment status may change, and when a payment pays an order.

NOWPayments repeats IPNs and delivers them out of order, so a status is applied only if
it moves the payment forward: waiting < confirming < confirmed < sending < partially_paid
< finished. `failed`, `refunded` and `expired` are terminal; a finished payment can still
be refunded, but never fail or expire.
"""

from decimal import Decimal, InvalidOperation
from typing import Final, TypeGuard, get_args

from bitloot_contracts.events import PaymentStatus

STATUSES: Final[tuple[str, ...]] = get_args(PaymentStatus)

_PROGRESS: Final = ("waiting", "confirming", "confirmed", "sending", "partially_paid", "finished")
_RANK: Final = {status: rank for rank, status in enumerate(_PROGRESS)}
TERMINAL: Final = frozenset({"failed", "refunded", "expired"})


def moves_forward(current: str | None, new: str) -> bool:
    """Whether `new` may replace `current` (None: nothing known yet)."""
    if current is None:
        return True
    if current in TERMINAL or new == current:
        return False
    if new == "refunded":
        return True
    if new in TERMINAL:
        return current != "finished"
    return _RANK[new] > _RANK[current]


def as_decimal(amount: object) -> Decimal | None:
    """An IPN amount (JSON number or string) as a Decimal; None if it is not a number.

    A JSON float is read through its shortest repr (``12.5``, not 12.4999…), which is
    how NOWPayments writes amounts.
    """
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return None
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def pays_order(price_amount: object, price_currency: object, total: Decimal, currency: str) -> bool:
    """Whether the IPN's price is exactly the order's total in the order's currency."""
    amount = as_decimal(price_amount)
    return (
        amount is not None
        and amount == total
        and isinstance(price_currency, str)
        and price_currency.strip().lower() == currency.lower()
    )


def is_status(value: object) -> TypeGuard[PaymentStatus]:
    """Whether `value` is a status NOWPayments documents."""
    return value in STATUSES


def order_status_after(payment_status: str, current: str) -> str:
    """The order's status once its payment reached `payment_status` (not `finished`,
    which pays the order only if the amount matches; see `pays_order`)."""
    if payment_status in ("failed", "expired"):
        return "failed"
    if payment_status == "refunded":
        return "refunded"
    return current
