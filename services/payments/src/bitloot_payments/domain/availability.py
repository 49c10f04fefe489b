"""Whether Kinguin can supply an order's lines, by what the gateway last observed.

A product never observed is not refused: its availability is unknown, not zero (a product
listed a moment ago, a gateway that has not read it yet), and the reservation still
refuses to pay Kinguin more than each line's maximum, so no money is at risk, only an
order that may end refunded. A preorder is available whatever its quantity: its keys come
on the release date.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bitloot_payments.domain.order import PricedLine

OUT_OF_STOCK = "out_of_stock"
PRICE_ABOVE_MAXIMUM = "price_above_maximum"


@dataclass(frozen=True)
class Availability:
    """`qty` keys at Kinguin's cheapest price `price` (EUR; None: not read yet), as of
    `observed_at`."""

    kinguin_product_id: str
    qty: int
    price: Decimal | None
    is_preorder: bool
    release_date: str | None
    observed_at: datetime


def unavailable(
    lines: Sequence[PricedLine], known: Mapping[str, Availability]
) -> list[dict[str, str]]:
    """One problem per line Kinguin cannot supply now, naming the line and its sku."""
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.kinguin_product_id] = wanted.get(line.kinguin_product_id, 0) + line.qty
    problems = []
    for i, line in enumerate(lines):
        availability = known.get(line.kinguin_product_id)
        if availability is None:
            continue
        code = _problem(line, availability, wanted[line.kinguin_product_id])
        if code == OUT_OF_STOCK:
            error = f"{line.sku!r} is out of stock ({availability.qty} available)."
        elif code == PRICE_ABOVE_MAXIMUM:
            error = f"{line.sku!r} cannot be bought at its price now."
        else:
            continue
        problems.append({"field": f"lines.{i}.sku", "code": code, "sku": line.sku, "error": error})
    return problems


def _problem(line: PricedLine, availability: Availability, wanted: int) -> str | None:
    if not availability.is_preorder and availability.qty < wanted:
        return OUT_OF_STOCK
    if availability.price is not None and availability.price > line.max_unit_price:
        return PRICE_ABOVE_MAXIMUM
    return None
