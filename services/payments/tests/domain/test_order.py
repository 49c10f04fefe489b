from decimal import Decimal

import pytest

from bitloot_contracts.events import OrderState
from bitloot_payments.domain.order import (
    MixedCurrencies,
    PricedLine,
    customer_status,
    order_total,
    saga_state,
)


def line(sku: str, qty: int, price: str, currency: str = "usd") -> PricedLine:
    return PricedLine(sku, f"k-{sku}", qty, Decimal(price), Decimal(price), currency)


def test_the_total_is_exact_decimal_arithmetic() -> None:
    total, currency = order_total([line("a", 3, "0.1"), line("b", 1, "19.99")])
    assert (total, currency) == (Decimal("20.29"), "usd")


def test_lines_in_different_currencies_have_no_total() -> None:
    with pytest.raises(MixedCurrencies, match="eur, usd"):
        order_total([line("a", 1, "1", "usd"), line("b", 1, "1", "eur")])


def test_an_order_without_lines_has_no_total() -> None:
    with pytest.raises(ValueError, match="at least one line"):
        order_total([])


@pytest.mark.parametrize(
    ("status", "saga", "under_review", "told"),
    [
        ("created", None, False, "awaiting_payment"),
        ("invoiced", None, False, "awaiting_payment"),
        ("invoiced", None, True, "under_review"),
        ("failed", None, True, "under_review"),
        ("failed", None, False, "failed"),
        ("expired", None, False, "failed"),
        ("paid", None, False, "payment_received"),
        ("paid", "reserving", True, "delivering"),
        ("paid", "keys_requested", False, "delivering"),
        ("paid", "fulfilled", False, "delivered"),
        ("paid", "failed", False, "failed"),
        ("refund_due", "failed", False, "refund_due"),
        ("refunded", None, False, "refunded"),
    ],
)
def test_the_customer_is_told_where_their_order_stands(
    status: str, saga: OrderState | None, under_review: bool, told: str
) -> None:
    assert customer_status(status, saga, under_review) == told


def test_only_a_known_saga_state_is_read_back() -> None:
    assert (saga_state("fulfilled"), saga_state("nonsense"), saga_state(None)) == (
        "fulfilled",
        None,
        None,
    )
