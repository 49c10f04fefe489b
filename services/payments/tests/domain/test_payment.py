import itertools
from decimal import Decimal

import pytest

from bitloot_payments.domain.payment import as_decimal, moves_forward, pays_order

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


def test_the_price_must_match_the_order_exactly_in_amount_and_currency() -> None:
    assert pays_order(12.5, "USD", Decimal("12.50000000"), "usd")
    assert pays_order("12.50", "usd", Decimal("12.5"), "usd")
    assert not pays_order(12.49, "usd", Decimal("12.5"), "usd")
    assert not pays_order(12.5, "eur", Decimal("12.5"), "usd")
    assert not pays_order(None, "usd", Decimal("12.5"), "usd")


@pytest.mark.parametrize("value", [None, True, "abc", "NaN", "Infinity", [1]])
def test_an_amount_that_is_not_a_finite_number_is_refused(value: object) -> None:
    assert as_decimal(value) is None
