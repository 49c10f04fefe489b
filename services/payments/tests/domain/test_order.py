from decimal import Decimal

import pytest

from bitloot_payments.domain.order import MixedCurrencies, PricedLine, customer_status, order_total


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
    ("status", "payment_status", "told"),
    [
        ("created", None, "awaiting_invoice"),
        ("invoiced", None, "awaiting_payment"),
        ("invoiced", "waiting", "awaiting_payment"),
        ("invoiced", "sending", "confirming_payment"),
        ("invoiced", "partially_paid", "under_review"),
        ("invoiced", "finished", "under_review"),
        ("paid", "finished", "paid"),
        ("failed", "expired", "payment_failed"),
        ("refunded", "refunded", "refunded"),
    ],
)
def test_the_customer_is_told_where_their_payment_stands(
    status: str, payment_status: str | None, told: str
) -> None:
    assert customer_status(status, payment_status) == told
