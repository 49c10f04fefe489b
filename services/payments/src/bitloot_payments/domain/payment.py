"""How a NOWPayments payment status may change, and what an authentic IPN does to an order.

NOWPayments repeats IPNs and delivers them out of order, so a status is applied only if
it moves the payment forward: waiting < confirming < confirmed < sending < partially_paid
< finished. `failed`, `refunded` and `expired` are terminal; a finished payment can still
be refunded, but never fail or expire. `apply` is the whole state machine: a pure
function of the order, the payment as known so far and one notification.
"""

from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Final, TypeGuard, get_args
from uuid import UUID

from bitloot_contracts.events import PaymentStatus

STATUSES: Final[tuple[str, ...]] = get_args(PaymentStatus)

_PROGRESS: Final = ("waiting", "confirming", "confirmed", "sending", "partially_paid", "finished")
_RANK: Final = {status: rank for rank, status in enumerate(_PROGRESS)}
TERMINAL: Final = frozenset({"failed", "refunded", "expired"})
# Order statuses after which a payment can no longer pay the order.
SETTLED: Final = frozenset({"paid", "refunded"})


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
    """An IPN amount (JSON number, parsed as Decimal, or string) as a Decimal; None if it
    is not a finite number. A float is read through its shortest repr (``12.5``)."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int | float | str):
        return None
    try:
        value = Decimal(amount) if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def is_status(value: object) -> TypeGuard[PaymentStatus]:
    """Whether `value` is a status NOWPayments documents."""
    return value in STATUSES


@dataclass(frozen=True)
class Notification:
    """What an authentic IPN states about one payment."""

    payment_id: str
    status: PaymentStatus
    order_id: UUID
    price_amount: Decimal | None = None
    price_currency: str | None = None
    pay_amount: Decimal | None = None
    actually_paid: Decimal | None = None
    parent_payment_id: str | None = None


@dataclass(frozen=True)
class OrderState:
    """The order as the payment rules see it; `payment_id` is the payment that paid it or,
    before that, the latest one heard of."""

    order_id: UUID
    total: Decimal
    currency: str
    status: str
    payment_id: str | None = None
    payment_status: str | None = None


@dataclass(frozen=True)
class PaymentState:
    """One NOWPayments payment as known so far: its status and every status seen."""

    order_id: UUID | None = None
    status: str | None = None
    seen: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Outcome:
    """What one IPN did: `result` names it; `flag` asks an admin to look; `previous` is the
    payment's status before (for payment.status_changed when `status_changed`)."""

    result: str
    order: OrderState
    payment: PaymentState
    previous: str | None = None
    status_changed: bool = False
    finished: bool = False
    duplicate: bool = False
    flag: str | None = None


def mismatch(order: OrderState, ipn: Notification) -> str | None:
    """Why a finished payment does not pay `order`, or None if it does."""
    if (ipn.price_currency or "").strip().lower() != order.currency.lower():
        return "currency_mismatch"
    if ipn.price_amount is None or ipn.price_amount != order.total:
        return "amount_mismatch"
    if ipn.pay_amount is None or ipn.actually_paid is None or ipn.actually_paid < ipn.pay_amount:
        return "underpaid"
    return None


def apply(order: OrderState, payment: PaymentState, ipn: Notification) -> Outcome:
    """The effect of `ipn` on `order` and its `payment` (pure; see the module docstring)."""
    if payment.order_id is not None and payment.order_id != ipn.order_id:
        return Outcome("order_mismatch", order, payment, flag="order_mismatch")
    if ipn.status in payment.seen:
        return Outcome("duplicate", order, payment, duplicate=True)
    seen = payment.seen | {ipn.status}
    if not moves_forward(payment.status, ipn.status):
        return Outcome("stale", order, replace(payment, seen=seen))
    moved = PaymentState(ipn.order_id, ipn.status, seen)
    changed = Outcome("applied", order, moved, payment.status, status_changed=True)
    if ipn.parent_payment_id is not None:
        # A re-deposit to an old address: money an admin must match by hand.
        return replace(changed, result="redeposit", flag="redeposit")
    return _settle(changed, ipn)


def _settle(changed: Outcome, ipn: Notification) -> Outcome:
    order, status = changed.order, ipn.status
    ours = order.payment_id in (None, ipn.payment_id)
    if order.status in SETTLED and not ours:
        flag = "paid_twice" if status == "finished" else None
        return replace(changed, result="other_payment", flag=flag)
    tracked = replace(order, payment_id=ipn.payment_id, payment_status=status)
    if status == "finished":
        problem = mismatch(order, ipn)
        if problem is not None:
            return replace(changed, result=problem, order=tracked, flag=problem)
        paid = replace(tracked, status="paid")
        return replace(changed, result="paid", order=paid, finished=True)
    if status == "partially_paid":
        return replace(changed, result="partially_paid", order=tracked, flag="partially_paid")
    if status in ("failed", "expired") and order.status not in SETTLED:
        return replace(changed, order=replace(tracked, status="failed"))
    if status == "refunded":
        return replace(changed, order=replace(tracked, status="refunded"), flag="refunded")
    return replace(changed, order=tracked)
