import itertools
from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from bitloot_payments.domain.payment import (
    Notification,
    OrderState,
    PaymentState,
    apply,
    as_decimal,
    mismatch,
    moves_forward,
)

ORDER = OrderState(UUID(int=42), Decimal("25"), "usd", "invoiced")
BASE = Notification(
    "7", "waiting", ORDER.order_id, Decimal("25"), "usd", Decimal("25.1"), Decimal(0)
)
FORWARD = ["waiting", "confirming", "confirmed", "sending", "partially_paid", "finished"]


def test_every_status_is_accepted_when_nothing_is_known_yet() -> None:
    assert all(moves_forward(None, status) for status in [*FORWARD, "failed", "expired"])


@pytest.mark.parametrize(("earlier", "later"), list(itertools.pairwise(FORWARD)))
def test_a_payment_moves_forward_and_never_back(earlier: str, later: str) -> None:
    assert moves_forward(earlier, later)
    assert not moves_forward(later, earlier)


def test_a_repeated_status_is_not_applied_again() -> None:
    assert not moves_forward("confirming", "confirming")


@pytest.mark.parametrize("terminal", ["failed", "refunded", "expired"])
def test_terminal_statuses_never_change(terminal: str) -> None:
    assert not any(moves_forward(terminal, s) for s in [*FORWARD, "failed", "refunded"])


def test_a_finished_payment_may_be_refunded_but_not_fail_or_expire() -> None:
    assert moves_forward("finished", "refunded")
    assert not moves_forward("finished", "failed")
    assert not moves_forward("finished", "expired")
    assert moves_forward("confirming", "expired")


def notification(status: str, **changes: object) -> Notification:
    """An IPN of payment 7 for ORDER: 25 usd, paid in full when finished."""
    paid = Decimal("25.1") if status == "finished" else Decimal(0)
    fields: dict[str, Any] = {"status": status, "actually_paid": paid, **changes}
    return replace(BASE, **fields)


def test_a_matching_finished_payment_pays_the_order_and_asks_for_payment_finished() -> None:
    outcome = apply(ORDER, PaymentState(), notification("finished"))
    assert (outcome.result, outcome.finished, outcome.flag) == ("paid", True, None)
    assert (outcome.order.status, outcome.order.payment_status) == ("paid", "finished")
    assert outcome.status_changed
    assert outcome.previous is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"price_amount": Decimal("24.99")}, "amount_mismatch"),
        ({"price_amount": None}, "amount_mismatch"),
        ({"price_currency": "eur"}, "currency_mismatch"),
        ({"actually_paid": Decimal("25.09")}, "underpaid"),
        ({"actually_paid": None}, "underpaid"),
    ],
)
def test_a_finished_payment_that_does_not_cover_the_order_is_flagged_not_paid(
    changes: dict[str, object], reason: str
) -> None:
    outcome = apply(ORDER, PaymentState(), notification("finished", **changes))
    assert (outcome.result, outcome.flag, outcome.finished) == (reason, reason, False)
    assert outcome.order.status == "invoiced"


def test_currency_case_and_trailing_zeros_do_not_matter() -> None:
    ipn = notification("finished", price_amount=Decimal("25.00000"), price_currency="USD")
    assert mismatch(ORDER, ipn) is None


def test_partially_paid_is_not_paid_and_is_flagged() -> None:
    outcome = apply(ORDER, PaymentState(), notification("partially_paid"))
    assert (outcome.result, outcome.flag, outcome.finished) == (
        "partially_paid",
        "partially_paid",
        False,
    )
    assert outcome.order.status == "invoiced"


def test_a_late_confirming_after_finished_changes_nothing() -> None:
    paid = apply(ORDER, PaymentState(), notification("finished"))
    late = apply(paid.order, paid.payment, notification("confirming"))
    assert (late.result, late.status_changed, late.finished) == ("stale", False, False)
    assert late.order == paid.order


def test_a_repeated_ipn_is_a_duplicate_without_effect() -> None:
    paid = apply(ORDER, PaymentState(), notification("finished"))
    again = apply(paid.order, paid.payment, notification("finished"))
    assert (again.result, again.duplicate, again.finished) == ("duplicate", True, False)


@pytest.mark.parametrize(("status", "order_status"), [("failed", "failed"), ("expired", "failed")])
def test_a_failed_or_expired_payment_fails_the_order(status: str, order_status: str) -> None:
    outcome = apply(ORDER, PaymentState(), notification(status))
    assert (outcome.order.status, outcome.finished) == (order_status, False)


def test_a_refund_of_the_paying_payment_refunds_the_order_and_is_flagged() -> None:
    paid = apply(ORDER, PaymentState(), notification("finished"))
    refunded = apply(paid.order, paid.payment, notification("refunded"))
    assert (refunded.order.status, refunded.flag) == ("refunded", "refunded")


def test_a_redeposit_is_flagged_and_never_delivered() -> None:
    outcome = apply(ORDER, PaymentState(), notification("finished", parent_payment_id="6"))
    assert (outcome.result, outcome.flag, outcome.finished) == ("redeposit", "redeposit", False)
    assert outcome.order == ORDER


def test_a_second_payment_finishing_an_order_already_paid_is_flagged_not_delivered() -> None:
    paid = apply(ORDER, PaymentState(), notification("finished"))
    second = apply(paid.order, PaymentState(), notification("finished", payment_id="8"))
    assert (second.result, second.flag, second.finished) == ("other_payment", "paid_twice", False)
    assert second.order == paid.order


def test_another_payment_may_pay_an_order_whose_first_payment_expired() -> None:
    expired = apply(ORDER, PaymentState(), notification("expired"))
    paid = apply(expired.order, PaymentState(), notification("finished", payment_id="8"))
    assert (paid.result, paid.order.status, paid.order.payment_id) == ("paid", "paid", "8")


def test_a_payment_known_for_another_order_is_refused_and_flagged() -> None:
    known = PaymentState(order_id=UUID(int=1), status="waiting", seen=frozenset({"waiting"}))
    outcome = apply(ORDER, known, notification("finished"))
    assert (outcome.result, outcome.flag, outcome.order) == (
        "order_mismatch",
        "order_mismatch",
        ORDER,
    )


@pytest.mark.parametrize("value", [None, True, "abc", "NaN", "Infinity", [1]])
def test_an_amount_that_is_not_a_finite_number_is_refused(value: object) -> None:
    assert as_decimal(value) is None


def test_amounts_are_read_exactly() -> None:
    assert as_decimal(12.5) == Decimal("12.5")
    assert as_decimal("12.50") == Decimal("12.5")
    assert as_decimal(Decimal("0.1")) == Decimal("0.1")
