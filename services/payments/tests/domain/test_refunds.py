from collections.abc import Callable
from decimal import Decimal
from typing import get_args

import pytest

from bitloot_contracts.events.refund import RefundStatus
from bitloot_payments.domain import refunds as rules
from bitloot_payments.domain.refunds import (
    LateFulfilment,
    RefundRefused,
    as_status,
    on_fulfilled,
    order_status_after,
    speaking_status,
    still_owed,
)

ALL = list(get_args(RefundStatus))


def refusal(check: Callable[..., None], *args: object) -> str:
    """The code `check` refuses `args` with (it must refuse)."""
    with pytest.raises(RefundRefused) as refused:
        check(*args)
    return refused.value.code


def test_every_contract_status_has_its_moves() -> None:
    assert [as_status(status) for status in ALL] == ALL
    with pytest.raises(ValueError, match="paid"):
        as_status("paid")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("due", None),
        ("claimed", "already_claimed"),
        ("approved", "already_claimed"),
        ("sending", "already_claimed"),
        ("sent", "refund_closed"),
        ("canceled", "refund_closed"),
        ("rejected", "refund_closed"),
        ("failed", "refund_closed"),
    ],
)
def test_only_a_due_refund_may_be_claimed(status: str, code: str | None) -> None:
    if code is None:
        rules.check_claim(status)
        return
    assert refusal(rules.check_claim, status) == code


@pytest.mark.parametrize("status", ALL)
def test_approving_needs_a_claim_or_a_failed_payout(status: str) -> None:
    if status in ("claimed", "failed"):
        rules.check_approve(status)
        return
    assert refusal(rules.check_approve, status) == "not_claimed"


@pytest.mark.parametrize("status", ALL)
def test_rejecting_needs_a_note_and_a_refund_not_paid_out(status: str) -> None:
    assert refusal(rules.check_reject, status, "  ") == "note_required"
    if status in ("due", "claimed", "failed"):
        rules.check_reject(status, "Customer asked to keep the credit.")
        return
    assert refusal(rules.check_reject, status, "why") == "refund_closed"


@pytest.mark.parametrize("status", ALL)
def test_refunded_outside_never_while_a_payout_may_be_in_flight(status: str) -> None:
    assert refusal(rules.check_refunded_outside, status, None) == "note_required"
    if status in ("due", "claimed", "approved", "failed"):
        rules.check_refunded_outside(status, "Paid back by bank transfer.")
        return
    assert refusal(rules.check_refunded_outside, status, "why") == "refund_closed"


@pytest.mark.parametrize(
    ("reason", "status", "late"),
    [
        ("order_failed", "due", LateFulfilment(cancel=True)),
        ("order_failed", "claimed", LateFulfilment(cancel=True)),
        ("order_failed", "approved", LateFulfilment(flag=True)),
        ("order_failed", "sending", LateFulfilment(flag=True)),
        ("order_failed", "sent", LateFulfilment(flag=True)),
        ("order_failed", "refunded_outside", LateFulfilment(flag=True)),
        # NOWPayments failed the payout: nothing was paid, the keys cancel the refund.
        ("order_failed", "failed", LateFulfilment(cancel=True)),
        ("order_failed", "rejected", LateFulfilment()),
        ("order_failed", "canceled", LateFulfilment()),
        # Money a flag or an admin sent back is not about the saga's failure.
        ("paid_twice", "due", LateFulfilment()),
        ("keys_unrevealed", "sent", LateFulfilment()),
    ],
)
def test_a_late_fulfilment_cancels_a_refund_no_money_moved_for_else_flags_it(
    reason: str, status: str, late: LateFulfilment
) -> None:
    assert on_fulfilled(reason, status) == late
    assert not (late.cancel and late.flag)


def test_the_order_is_refunded_once_money_is_back_and_paid_again_when_canceled() -> None:
    assert order_status_after("sent", "refund_due", whole_order=True) == "refunded"
    assert order_status_after("refunded_outside", "paid", whole_order=True) == "refunded"
    # A paid order's surplus going back leaves the order paid.
    assert order_status_after("sent", "paid", whole_order=False) == "paid"
    assert order_status_after("canceled", "refund_due", whole_order=True) == "paid"
    assert order_status_after("rejected", "refund_due", whole_order=True) == "refund_due"
    assert order_status_after("approved", "refund_due", whole_order=True) == "refund_due"


def test_the_newest_refund_speaking_for_the_order_tells_the_customer() -> None:
    assert speaking_status([], "paid") is None
    assert speaking_status([("due", False)], "paid") is None
    assert speaking_status([("due", False)], "refund_due") == "due"
    assert speaking_status([("claimed", True), ("due", False)], "paid") == "claimed"
    assert speaking_status([("sent", True), ("canceled", True)], "paid") == "sent"
    assert speaking_status([("canceled", True)], "paid") is None


def test_every_reason_has_customer_words() -> None:
    for reason in ("order_failed", "keys_unrevealed", "paid_twice", "something_new"):
        assert rules.reason_in_customer_words(reason).endswith(".")


def test_money_already_going_back_from_the_same_payment_is_not_owed_twice() -> None:
    paid = Decimal("30")
    assert still_owed(paid, "btc", []) == paid
    surplus = (Decimal("4.9"), "BTC", "sent")
    assert still_owed(paid, "btc", [surplus]) == Decimal("25.1")
    assert still_owed(paid, "btc", [(Decimal("4.9"), "btc", "rejected")]) == paid
    assert still_owed(paid, "btc", [(Decimal("4.9"), "eth", "due")]) == paid
    assert still_owed(paid, "btc", [(paid, "btc", "due")]) == 0
