"""Whether Kinguin can supply an order's lines now (`unavailable`), which checkout refuses
before anything is stored or invoiced (handlers/test_availability): g-1 and g-1b are sold
as k-g-1, bought from Kinguin for at most 9."""

from datetime import UTC, datetime
from decimal import Decimal

from bitloot_payments.domain.availability import Availability, unavailable
from bitloot_payments.domain.order import PricedLine

G2 = PricedLine("g-2", "k-g-2", 1, Decimal("2.25"), Decimal("1.5"), "usd")


def two(sku: str = "g-1") -> PricedLine:
    return PricedLine(sku, "k-g-1", 2, Decimal("12.5"), Decimal(9), "usd")


def refused(
    lines: list[PricedLine], qty: int, price: str | None = "8.00", preorder: bool = False
) -> list[tuple[str, str, str]]:
    """Why `lines` are refused when Kinguin has `qty` of k-g-1 at `price`."""
    release = "2027-02-01" if preorder else None
    at = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    seen = Availability("k-g-1", qty, Decimal(price) if price else None, preorder, release, at)
    return [(p["field"], p["code"], p["sku"]) for p in unavailable(lines, {"k-g-1": seen})]


def test_a_kinguin_price_above_the_maximum_is_refused() -> None:
    assert refused([G2, two()], 50, "9.01") == [("lines.1.sku", "price_above_maximum", "g-1")]
    assert refused([G2, two()], 50, "9") == []


def test_a_product_never_observed_or_on_preorder_or_of_unknown_price_is_sold() -> None:
    # Unknown is not zero: the reservation's price ceiling still protects the money.
    assert unavailable([G2, two()], {}) == []
    assert refused([G2, two()], 0, preorder=True) == []
    assert refused([G2, two()], 5, price=None) == []


def test_two_lines_of_one_kinguin_product_count_together() -> None:
    assert refused([two(), two("g-1b")], 3) == [
        ("lines.0.sku", "out_of_stock", "g-1"),
        ("lines.1.sku", "out_of_stock", "g-1b"),
    ]
