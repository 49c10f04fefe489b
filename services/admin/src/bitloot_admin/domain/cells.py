"""How a listing's cells are shown, whatever the listing: a time relative to now, a
status as a chip, a count as a whole number, an amount in its currency, an order's lines
by the catalog's product titles, an id shortened. Pure data and rules; the templates'
filters (`entrypoints.formats`) do the formatting."""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from pydantic import JsonValue

from bitloot_admin.domain.listings import Listing, link

_TIMES: Final = "\N{MULTIPLICATION SIGN}"

# Fields shown as chips and counts; an amount is shown in the currency its sibling names.
STATUS_FIELDS: Final = frozenset(
    {"status", "state", "kinguin_status", "result", "source", "kind", "event_name"}
    | {"refund_status", "customer_status", "failure_stage"}
)
COUNT_FIELDS: Final = frozenset(
    {"keys_count", "attempt", "retries", "polls_sent", "attempts", "replay_count", "qty"}
)
AMOUNT_FIELDS: Final[Mapping[str, str]] = {
    "price_amount": "price_currency",
    "pay_amount": "pay_currency",
    "actually_paid": "pay_currency",
    "amount": "currency",
}


def kind_of(name: str, value: JsonValue) -> str:
    """How a cell of field `name` holding `value` is shown: ``time``, ``status``,
    ``count``, ``amount``, ``yes_no``, ``products`` (an order's lines), ``text``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes_no"
    if name == "lines" and isinstance(value, list):
        return "products"
    if name == "at" or name.endswith("_at"):
        return "time"
    if name in STATUS_FIELDS and isinstance(value, str):
        return "status"
    if name in COUNT_FIELDS:
        return "count"
    if name in AMOUNT_FIELDS:
        return "amount"
    return "text"


def products(lines: JsonValue, titles: Mapping[str, str]) -> list[str]:
    """An order's lines in words, "2 times Counter-Strike: Source" (with a multiplication
    sign): each line's sku or Kinguin product id looked up in the catalog's `titles`
    (the id itself if unknown)."""
    said = []
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, dict):
            continue
        ids = [str(line[key]) for key in ("sku", "kinguin_product_id") if line.get(key)]
        title = next((titles[i] for i in ids if i in titles), ids[0] if ids else "?")
        said.append(f"{line.get('qty', 1)} {_TIMES} {title}")
    return said


@dataclass(frozen=True)
class Cell:
    """One cell of a listing: its field, how it is shown (`kind_of`), the value as the
    service sent it, its text (an id shortened, the full one in `title`), where it links,
    the currency of an amount and the products of an order's lines."""

    name: str
    kind: str
    value: JsonValue
    text: str
    title: str | None = None
    href: str | None = None
    currency: str | None = None
    products: tuple[str, ...] = ()


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def row_cells(
    listing: Listing,
    header: Sequence[str],
    item: Mapping[str, JsonValue],
    titles: Mapping[str, str],
) -> list[Cell]:
    """The cells of `item` under `header`: a UUID shows its first eight characters (the
    whole one on hover and in the link), an order's lines their products' titles."""
    cells = []
    for name in header:
        value = item.get(name)
        kind = kind_of(name, value)
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        title = None
        if isinstance(value, str) and _UUID.match(value):
            text, title = value[:8] + "\N{HORIZONTAL ELLIPSIS}", value
        currency = item.get(AMOUNT_FIELDS.get(name, ""))
        cells.append(
            Cell(
                name,
                kind,
                value,
                text,
                title,
                link(listing, name, value),
                currency if isinstance(currency, str) else None,
                tuple(products(value, titles)) if kind == "products" else (),
            )
        )
    return cells
