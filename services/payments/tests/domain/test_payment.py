import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from payments_support import LATE_PAYMENT

from bitloot_payments.domain.payment import (
    Context,
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
    "7",
    "waiting",
    ORDER.order_id,
    Decimal("25"),
    "usd",
    Decimal("25.1"),
    Decimal(0),
    pay_currency="usdttrc20",
)
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
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


def test_a_redeposit_is_flagged_when_its_money_arrives_and_never_delivered() -> None:
    waiting = apply(ORDER, PaymentState(), notification("waiting", parent_payment_id="6"))
    assert (waiting.result, waiting.flag) == ("applied", None)
    outcome = apply(ORDER, waiting.payment, notification("finished", parent_payment_id="6"))
    assert (outcome.result, outcome.flag, outcome.finished) == ("redeposit", "redeposit", False)
    assert outcome.order == ORDER
    assert dict(outcome.flag_data)["parent_payment_id"] == "6"


@pytest.mark.parametrize("status", ["finished", "partially_paid"])
def test_a_second_payment_bringing_money_to_a_paid_order_is_flagged_not_delivered(
    status: str,
) -> None:
    paid = apply(ORDER, PaymentState(), notification("finished"))
    second = apply(paid.order, PaymentState(), notification(status, payment_id="8"))
    assert (second.result, second.flag, second.finished) == ("other_payment", "paid_twice", False)
    assert second.order == paid.order
    assert dict(second.flag_data)["paid_by"] == "7"


def test_a_payment_opened_before_the_order_closed_still_pays_it() -> None:
    expired = apply(ORDER, PaymentState(), notification("expired", updated_at=T0 + MINUTE))
    assert (expired.order.status, expired.order.closed_at) == ("failed", T0 + MINUTE)
    other = notification("finished", payment_id="8", created_at=T0)
    paid = apply(expired.order, PaymentState(), other)
    assert (paid.result, paid.order.status, paid.order.payment_id) == ("paid", "paid", "8")
    assert paid.finished


def test_an_expired_payment_does_not_fail_the_order_while_another_is_open() -> None:
    outcome = apply(ORDER, PaymentState(), notification("expired"), Context(others_live=True))
    assert (outcome.result, outcome.order) == ("applied", ORDER)


def test_a_payment_finishing_after_it_expired_is_a_late_payment_with_its_amounts() -> None:
    expired = apply(ORDER, PaymentState(), notification("expired"))
    late = apply(expired.order, expired.payment, notification("finished"))
    assert (late.result, late.flag, late.finished) == ("late_payment", "late_payment", False)
    assert late.order == expired.order
    assert dict(late.flag_data) == LATE_PAYMENT
    again = apply(late.order, late.payment, notification("finished"))
    assert (again.result, again.flag) == ("duplicate", None)


@pytest.mark.parametrize("created_at", [T0 + 2 * MINUTE, None])
def test_a_payment_opened_after_the_order_closed_is_a_late_payment(
    created_at: datetime | None,
) -> None:
    """Opened after the close, or with no opening time to tell: an admin decides."""
    expired = apply(ORDER, PaymentState(), notification("expired", updated_at=T0 + MINUTE))
    other = notification("finished", payment_id="8", created_at=created_at)
    late = apply(expired.order, PaymentState(), other)
    assert (late.result, late.flag, late.finished) == ("late_payment", "late_payment", False)
    assert late.order.status == "failed"
    assert dict(late.flag_data)["order_was"] == "failed"


def test_an_overpayment_pays_the_order_and_flags_the_difference() -> None:
    outcome = apply(ORDER, PaymentState(), notification("finished", actually_paid=Decimal("30")))
    assert (outcome.result, outcome.finished, outcome.flag) == ("paid", True, "overpaid")
    assert dict(outcome.flag_data)["difference"] == "4.9"


@pytest.mark.parametrize(
    ("paid", "result", "flag", "finished"),
    [
        ("24.848", "underpaid", "underpaid", False),
        ("24.849", "paid", "underpaid_accepted", True),
        ("25.1", "paid", None, True),
    ],
)
def test_a_shortfall_within_the_tolerance_is_accepted_and_flagged(
    paid: str, result: str, flag: str | None, finished: bool
) -> None:
    """1% of 25.1 is 0.251: 24.849 is the least accepted."""
    ipn = notification("finished", actually_paid=Decimal(paid))
    outcome = apply(ORDER, PaymentState(), ipn, Context(tolerance_percent=Decimal(1)))
    assert (outcome.result, outcome.flag, outcome.finished) == (result, flag, finished)


def test_a_partial_payment_accepted_within_the_tolerance_is_never_paid_again() -> None:
    tolerant = Context(tolerance_percent=Decimal(5))
    partial = notification("partially_paid", actually_paid=Decimal("24"))
    accepted = apply(ORDER, PaymentState(), partial, tolerant)
    assert (accepted.result, accepted.flag, accepted.finished) == (
        "paid",
        "underpaid_accepted",
        True,
    )
    later = apply(accepted.order, accepted.payment, notification("finished"), tolerant)
    assert (later.result, later.finished, later.flag) == ("already_paid", False, None)
    assert later.order.status == "paid"


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
