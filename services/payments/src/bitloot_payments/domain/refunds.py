"""A refund's life (pure: no I/O): which moves are allowed, who may make them, and what
the customer is told about why their money goes back.

    due ──claim──▶ claimed ──approve──▶ approved ──▶ sending ──▶ sent
     │               │                     │            └──────▶ failed ──approve──▶ …
     └── reject / refunded_outside / canceled (the order was fulfilled after all) ──┘
    (a failed refund may be rejected, refunded outside or canceled too: its payout paid
    nothing)

The customer claims (gives a payout address); an admin approves, rejects (with a note) or
records the money as refunded outside BitLoot (with a note); the payout runner moves an
approved refund to sending, then sent or failed. A failed payout may be approved again.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, TypeGuard, get_args

from bitloot_contracts.events.refund import RefundStatus
from bitloot_payments.domain import Coded

DUE: Final = "due"
CLAIMED: Final = "claimed"
APPROVED: Final = "approved"
SENDING: Final = "sending"
SENT: Final = "sent"
FAILED: Final = "failed"
REJECTED: Final = "rejected"
REFUNDED_OUTSIDE: Final = "refunded_outside"
CANCELED: Final = "canceled"

# Why a whole order's money goes back without a flag (one refund per order for each).
ORDER_FAILED: Final = "order_failed"
KEYS_UNREVEALED: Final = "keys_unrevealed"

_NEXT: Final[dict[str, frozenset[str]]] = {
    DUE: frozenset({CLAIMED, REJECTED, REFUNDED_OUTSIDE, CANCELED}),
    CLAIMED: frozenset({APPROVED, REJECTED, REFUNDED_OUTSIDE, CANCELED}),
    APPROVED: frozenset({SENDING, REFUNDED_OUTSIDE}),
    SENDING: frozenset({SENT, FAILED}),
    FAILED: frozenset({APPROVED, REJECTED, REFUNDED_OUTSIDE, CANCELED}),
    SENT: frozenset(),
    REJECTED: frozenset(),
    REFUNDED_OUTSIDE: frozenset(),
    CANCELED: frozenset(),
}
_STATUSES: Final = frozenset(get_args(RefundStatus))
# Money has left (or may be leaving) for these: a late fulfilment needs an admin. A
# `failed` refund is not among them: NOWPayments failed or rejected its payout, so nothing
# left, and the saga delivers the keys to such an order, as to one only due or claimed.
MONEY_MOVING: Final = frozenset({APPROVED, SENDING, SENT, REFUNDED_OUTSIDE})
# Nothing was paid for these: keys that come after all cancel the refund.
NOTHING_PAID: Final = frozenset({DUE, CLAIMED, FAILED})
# The customer has been paid back: the order is refunded.
PAID_BACK: Final = frozenset({SENT, REFUNDED_OUTSIDE})


class RefundRefused(Coded, ValueError):
    """A move the refund's status does not allow; `code` is machine-readable."""


def may_move(current: str, target: str) -> bool:
    """Whether a refund in `current` may become `target`."""
    return target in _NEXT.get(current, frozenset())


def _is_status(value: str) -> TypeGuard[RefundStatus]:
    return value in _STATUSES


def as_status(value: str) -> RefundStatus:
    """A stored status as the contract's type (`ValueError` for anything else)."""
    if _is_status(value):
        return value
    raise ValueError(f"Refund status {value!r} is not one of {', '.join(_NEXT)}.")


def check_claim(status: str) -> None:
    """The customer may claim a refund that is due, once."""
    if status in (CLAIMED, APPROVED, SENDING):
        raise RefundRefused("already_claimed", "This refund was already claimed.")
    if not may_move(status, CLAIMED):
        raise RefundRefused("refund_closed", f"This refund is {status}; it cannot be claimed.")


def check_approve(status: str) -> None:
    """An admin approves a claimed refund (or one whose payout failed)."""
    if not may_move(status, APPROVED):
        raise RefundRefused(
            "not_claimed", f"Only a claimed or failed refund can be approved; it is {status}."
        )


def _note_given(note: str | None, action: str) -> None:
    if not (note and note.strip()):
        raise RefundRefused("note_required", f"Say why the refund is {action}.")


def check_reject(status: str, note: str | None) -> None:
    """An admin rejects a refund not yet paid out, saying why."""
    _note_given(note, "rejected")
    if not may_move(status, REJECTED):
        raise RefundRefused("refund_closed", f"A refund that is {status} cannot be rejected.")


def check_refunded_outside(status: str, note: str | None) -> None:
    """An admin records money returned outside BitLoot, saying how; never while a payout
    is being sent (it could pay twice)."""
    _note_given(note, "refunded outside BitLoot")
    if not may_move(status, REFUNDED_OUTSIDE):
        raise RefundRefused(
            "refund_closed", f"A refund that is {status} cannot be recorded as refunded outside."
        )


@dataclass(frozen=True)
class LateFulfilment:
    """What to do with a refund when its order is fulfilled after all: `cancel` it (no
    money moved), or `flag` it for an admin (money moved or may move)."""

    cancel: bool = False
    flag: bool = False


def on_fulfilled(reason: str, status: str) -> LateFulfilment:
    """A failed order's refund is canceled while nothing was paid (due, claimed, or its
    payout failed); once an admin let money move, an admin must look (never both a refund
    and keys in silence). Fulfillment's saga follows the same line: it delivers late keys
    only while the refund is in `NOTHING_PAID`."""
    if reason != ORDER_FAILED:
        return LateFulfilment()
    if status in NOTHING_PAID:
        return LateFulfilment(cancel=True)
    if status in MONEY_MOVING:
        return LateFulfilment(flag=True)
    return LateFulfilment()


def order_status_after(refund_status: str, order_status: str, *, whole_order: bool) -> str:
    """The order's own status once its refund is `refund_status`: refunded once the money
    is back (a flag's refund only if the order itself was owed back: not paid by it);
    paid again if a failed order's refund is canceled (the keys came after all). A
    rejected refund leaves the order as it is (the refund's status tells the customer)."""
    speaks = whole_order or order_status == "refund_due"
    if refund_status in PAID_BACK and speaks:
        return "refunded"
    if refund_status == CANCELED and order_status == "refund_due":
        return "paid"
    return order_status


def still_owed(
    paid: Decimal, currency: str, earlier: Sequence[tuple[Decimal, str, str]]
) -> Decimal:
    """What of `paid` (in `currency`) is still owed back once the payment's `earlier`
    refunds (amount, currency, status) are counted: a surplus an admin already sent back
    on an `overpaid` flag is not owed twice. Rejected and canceled refunds owe nothing."""
    counted = sum(
        (
            amount
            for amount, their_currency, status in earlier
            if their_currency.lower() == currency and status not in (REJECTED, CANCELED)
        ),
        Decimal(0),
    )
    return max(paid - counted, Decimal(0))


def speaking_status(refunds: Sequence[tuple[str, bool]], order_status: str) -> RefundStatus | None:
    """Of an order's refunds (status, whether it is for the whole order), oldest first,
    the status of the newest that speaks for the order: one for the whole order (a failed
    order, unrevealed keys), or any when the order itself is owed back (not paid by the
    refunded money); never a canceled one. A paid order's surplus refund (paid twice,
    overpaid) does not change what the customer is told about their keys."""
    owed_back = order_status in ("refund_due", "refunded")
    for status, whole_order in reversed(refunds):
        if status != CANCELED and (whole_order or owed_back):
            return as_status(status)
    return None


_WHY: Final[dict[str, str]] = {
    ORDER_FAILED: "We could not get the keys of your order, so none was bought for you.",
    KEYS_UNREVEALED: "Your order was refunded before its keys were revealed.",
    "paid_twice": "You paid this order twice; the second payment goes back to you.",
    "overpaid": "You paid more than the order cost; the difference goes back to you.",
    "late_payment": "Your payment arrived after the order had expired.",
    "underpaid": "Your payment did not cover the order.",
    "partially_paid": "Your payment did not cover the order.",
}
_WHY_OTHERWISE: Final = "Your payment could not be used for this order."


def reason_in_customer_words(reason: str) -> str:
    """Why the money goes back, as the customer reads it on the claim page."""
    return _WHY.get(reason, _WHY_OTHERWISE)
