"""What an admin may decide about a flag (pure: no I/O).

- *accept and fulfil*: the money that arrived is good enough; the order is paid by the
  flagged payment and fulfilled. Only for a flag about money on an order not yet paid.
- *refund due*: the money goes back. What is owed is what the flagged payment brought
  (for an overpayment, only the difference), in the currency it was paid in.
- *dismiss*, with a note: nothing to do (a refund NOWPayments already made, an IPN for
  an order that is not ours, an overpayment the customer wants kept…).
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

from bitloot_payments.domain.payment import SETTLED

ACCEPT: Final = "accept"
REFUND_DUE: Final = "refund_due"
DISMISS: Final = "dismiss"
# The status a flag takes for each decision.
RESOLVED_AS: Final = {ACCEPT: "accepted", REFUND_DUE: "refund_due", DISMISS: "dismissed"}

# Raised by the refund path (`bitloot_contracts.flags.FLAG_KINDS`), for an admin to look
# at and dismiss with a note once handled: the order was fulfilled after its refund let
# money move (the customer may have both), and a refund is due whose amount the payment
# never told (nothing is guessed).
FULFILLED_AFTER_REFUND: Final = "fulfilled_after_refund"
REFUND_AMOUNT_UNKNOWN: Final = "refund_amount_unknown"

# Money arrived on a payment that did not pay the order.
ACCEPTABLE: Final = frozenset(
    {
        "partially_paid",
        "underpaid",
        "amount_mismatch",
        "currency_mismatch",
        "late_payment",
        "redeposit",
    }
)
# Money arrived that the shop should not keep (all of it, or the surplus).
REFUNDABLE: Final = ACCEPTABLE | {"paid_twice", "overpaid"}


def money_status(seen: Iterable[str]) -> str | None:
    """The status in which a payment brought the most money, of those it was seen in
    (what an accepted payment paid the order with)."""
    statuses = set(seen)
    return next((status for status in ("finished", "partially_paid") if status in statuses), None)


def refundable(kind: str, data: Mapping[str, str | None]) -> tuple[Decimal, str] | None:
    """What refunding the flag gives back, and in which currency; None if nothing (the
    flag is not about money, or its amounts are unknown)."""
    if kind not in REFUNDABLE:
        return None
    raw = data.get("difference") if kind == "overpaid" else data.get("actually_paid")
    currency = data.get("pay_currency")
    try:
        amount = Decimal(raw) if raw is not None else None
    except InvalidOperation:
        return None
    if amount is None or not amount.is_finite() or amount <= 0 or not currency:
        return None
    return amount, currency


def allowed(kind: str, data: Mapping[str, str | None], order_status: str | None) -> list[str]:
    """The decisions an admin may take on an open flag of `kind` whose order is in
    `order_status` (None: the flag names no order we have)."""
    decisions = []
    if kind in ACCEPTABLE and order_status is not None and order_status not in SETTLED:
        decisions.append(ACCEPT)
    if order_status not in (None, "refunded") and refundable(kind, data) is not None:
        decisions.append(REFUND_DUE)
    return [*decisions, DISMISS]
