"""How a NOWPayments payment status may change, and what an authentic IPN does to an order.

NOWPayments repeats IPNs and delivers them out of order, so a status is applied only if
it moves the payment forward: waiting < confirming < confirmed < sending < partially_paid
< finished. `failed`, `refunded` and `expired` are terminal; a finished payment can still
be refunded, but never fail or expire. `apply` is the whole state machine: a pure
function of the order, the payment as known so far and one notification.

Money never disappears: whatever arrives that the rules cannot settle alone raises a
flag for an admin (kinds in `bitloot_contracts.flags`), with the amounts. A payment
finishing after its order's payment window closed (its own payment expired or failed,
or every payment of the order had) is a `late_payment`, never dropped as stale.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final, TypeGuard, get_args
from uuid import UUID

from bitloot_contracts.events import PaymentStatus

STATUSES: Final[tuple[str, ...]] = get_args(PaymentStatus)

_PROGRESS: Final = ("waiting", "confirming", "confirmed", "sending", "partially_paid", "finished")
_RANK: Final = {status: rank for rank, status in enumerate(_PROGRESS)}
TERMINAL: Final = frozenset({"failed", "refunded", "expired"})
# A payment in one of these may still bring money: while one is open, the order waits.
LIVE: Final = frozenset(_PROGRESS) - {"finished"}
# Statuses that say money arrived.
MONEY: Final = frozenset({"partially_paid", "finished"})
# Order statuses after which a payment can no longer pay the order.
SETTLED: Final = frozenset({"paid", "refund_due", "refunded"})
# Order statuses in which the order's payment window has closed without payment.
CLOSED: Final = frozenset({"failed", "expired"})
# Payment statuses of a payment NOWPayments gave up on: only these ask whether another
# payment of the order is still live (`Context.others_live`).
GIVEN_UP: Final = frozenset({"failed", "expired"})


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
    """What an authentic IPN (or a polled payment status) states about one payment;
    `created_at`/`updated_at` are NOWPayments' own clock."""

    payment_id: str
    status: PaymentStatus
    order_id: UUID
    price_amount: Decimal | None = None
    price_currency: str | None = None
    pay_amount: Decimal | None = None
    actually_paid: Decimal | None = None
    parent_payment_id: str | None = None
    pay_currency: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def amounts(self) -> dict[str, str | None]:
        """The amounts an admin needs to judge the payment, as text."""
        return {
            "price_amount": _text(self.price_amount),
            "price_currency": self.price_currency,
            "pay_amount": _text(self.pay_amount),
            "actually_paid": _text(self.actually_paid),
            "pay_currency": self.pay_currency,
        }


def _text(amount: Decimal | None) -> str | None:
    return format(amount.normalize(), "f") if amount is not None else None


@dataclass(frozen=True)
class OrderState:
    """The order as the payment rules see it; `payment_id` is the payment that paid it or,
    before that, the latest one heard of; `closed_at` is when (NOWPayments' clock) its
    last open payment failed or expired."""

    order_id: UUID
    total: Decimal
    currency: str
    status: str
    payment_id: str | None = None
    payment_status: str | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class PaymentState:
    """One NOWPayments payment as known so far: its status and every status seen."""

    order_id: UUID | None = None
    status: str | None = None
    seen: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Context:
    """What the rules need beyond the order and the payment: whether another payment of
    the order is still open, and how short of the price a payment may fall and still be
    accepted (percent of `pay_amount`)."""

    others_live: bool = False
    tolerance_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class Outcome:
    """What one IPN did: `result` names it; `flag` asks an admin to look, `flag_data`
    holds the amounts; `previous` is the payment's status before (for
    payment.status_changed when `status_changed`)."""

    result: str
    order: OrderState
    payment: PaymentState
    previous: str | None = None
    status_changed: bool = False
    finished: bool = False
    duplicate: bool = False
    flag: str | None = None
    flag_data: tuple[tuple[str, str | None], ...] = ()


def mismatch(order: OrderState, ipn: Notification) -> str | None:
    """Why a payment cannot pay `order` whatever it received, or None if it may."""
    if (ipn.price_currency or "").strip().lower() != order.currency.lower():
        return "currency_mismatch"
    if ipn.price_amount is None or ipn.price_amount != order.total:
        return "amount_mismatch"
    return None


def coverage(ipn: Notification, tolerance_percent: Decimal) -> tuple[str, Decimal]:
    """How what arrived compares with what was asked (in the pay currency): ``exact``,
    ``over``, ``within`` the tolerance, or ``under`` it; and the difference (arrived
    minus asked). Unknown amounts are ``under``."""
    asked, paid = ipn.pay_amount, ipn.actually_paid
    if asked is None or paid is None or asked <= 0:
        return "under", Decimal(0)
    difference = paid - asked
    if difference > 0:
        return "over", difference
    if difference == 0:
        return "exact", difference
    if -difference <= asked * tolerance_percent / 100:
        return "within", difference
    return "under", difference


def _flagged(outcome: Outcome, flag: str, ipn: Notification, **extra: str | None) -> Outcome:
    data = {**ipn.amounts(), **extra}
    return replace(outcome, flag=flag, flag_data=tuple(data.items()))


def apply(
    order: OrderState, payment: PaymentState, ipn: Notification, context: Context = Context()
) -> Outcome:
    """The effect of `ipn` on `order` and its `payment` (pure; see the module docstring)."""
    if payment.order_id is not None and payment.order_id != ipn.order_id:
        return Outcome("order_mismatch", order, payment, flag="order_mismatch")
    if ipn.status in payment.seen:
        return Outcome("duplicate", order, payment, duplicate=True)
    seen = payment.seen | {ipn.status}
    if not moves_forward(payment.status, ipn.status):
        stale = Outcome("stale", order, replace(payment, seen=seen))
        if ipn.status in MONEY and payment.status in ("failed", "expired"):
            # Money arrived on a payment NOWPayments had given up on.
            late = replace(stale, result="late_payment")
            return _flagged(late, "late_payment", ipn, payment_was=payment.status)
        return stale
    moved = PaymentState(ipn.order_id, ipn.status, seen)
    changed = Outcome("applied", order, moved, payment.status, status_changed=True)
    if ipn.parent_payment_id is not None:
        # A re-deposit to an old address: money an admin must match by hand.
        if ipn.status in MONEY:
            redeposit = replace(changed, result="redeposit")
            return _flagged(redeposit, "redeposit", ipn, parent_payment_id=ipn.parent_payment_id)
        return changed
    return _settle(changed, ipn, context)


def _settle(changed: Outcome, ipn: Notification, context: Context) -> Outcome:
    order, status = changed.order, ipn.status
    ours = order.payment_id in (None, ipn.payment_id)
    if order.status in SETTLED:
        return _after_settled(changed, ipn, ours)
    if order.status in CLOSED and status in MONEY and _late(order, ipn):
        late = replace(changed, result="late_payment")
        return _flagged(late, "late_payment", ipn, order_was=order.status)
    tracked = replace(order, payment_id=ipn.payment_id, payment_status=status)
    if status in MONEY:
        return _received(replace(changed, order=tracked), ipn, context)
    if status in GIVEN_UP:
        if context.others_live or order.status in CLOSED:
            return changed
        closed = replace(tracked, status="failed", closed_at=ipn.updated_at)
        return replace(changed, order=closed)
    if status == "refunded":
        return replace(changed, order=replace(tracked, status="refunded"), flag="refunded")
    if order.status in CLOSED:
        return changed
    return replace(changed, order=tracked)


def _late(order: OrderState, ipn: Notification) -> bool:
    """Whether a payment of an order whose window closed was opened after it closed (by
    NOWPayments' clock); one opened before was live all along, and pays the order."""
    if order.closed_at is None or ipn.created_at is None:
        return True
    return ipn.created_at >= order.closed_at


def _after_settled(changed: Outcome, ipn: Notification, ours: bool) -> Outcome:
    order, status = changed.order, ipn.status
    if not ours:
        if status in MONEY:
            twice = replace(changed, result="other_payment")
            return _flagged(twice, "paid_twice", ipn, paid_by=order.payment_id)
        return replace(changed, result="other_payment")
    tracked = replace(order, payment_status=status)
    if status == "refunded":
        return replace(changed, order=replace(tracked, status="refunded"), flag="refunded")
    # The paying payment moving on (finished after an accepted partial payment): the
    # order was paid once and is never paid again.
    return replace(changed, result="already_paid" if status in MONEY else "applied", order=tracked)


def _received(changed: Outcome, ipn: Notification, context: Context) -> Outcome:
    """Money arrived on the order's payment: pay the order if it covers the price."""
    problem = mismatch(changed.order, ipn)
    if problem is not None:
        return _flagged(replace(changed, result=problem), problem, ipn)
    how, difference = coverage(ipn, context.tolerance_percent)
    order = replace(changed.order, status="paid", closed_at=None)
    paid = replace(changed, result="paid", order=order)
    paid = replace(paid, finished=True)
    if how == "exact":
        return paid
    if how == "over":
        return _flagged(paid, "overpaid", ipn, difference=_text(difference))
    if how == "within":
        return _flagged(paid, "underpaid_accepted", ipn, difference=_text(difference))
    kind = "partially_paid" if ipn.status == "partially_paid" else "underpaid"
    return _flagged(replace(changed, result=kind), kind, ipn, difference=_text(difference))
