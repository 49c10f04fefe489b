"""The listings the admin shows from the other services' internal APIs: where each one
lives, which filters it takes, and how its pages are chained. Pure data and rules."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from pydantic import JsonValue

from bitloot_contracts.flags import FLAG_KINDS, FLAG_STATUSES
from bitloot_contracts.topics import FULFILLMENT, KINGUIN_GATEWAY, PAYMENTS

# Filter values are ids, statuses, e-mail addresses and ISO times; nothing else is passed on.
_VALUE = re.compile(r"^[\w.@:+\-]{1,128}$")
# A column naming a thing the admin has a page of: its value links there, in any listing.
LINKED_COLUMNS: Mapping[str, str] = {
    "order_id": "/admin/orders/",
    "payment_id": "/admin/payments/",
    "ipn_id": "/admin/ipns/",
    "flag_id": "/admin/flags/",
    "refund_id": "/admin/refunds/",
}


@dataclass(frozen=True)
class Listing:
    """One listing: `service`'s `path`, the `filters` it accepts, and which field of its
    answer (`next_field`) becomes which query parameter (`page_param`) of the next page.
    An item's `item_field` (if any) links to the item's own page, ``/admin/<name>/<value>``;
    a filter in `choices` takes one of a known set of values (a select, not a text box)."""

    name: str
    title: str
    service: str
    path: str
    filters: tuple[str, ...]
    next_field: str
    page_param: str
    item_field: str | None = None
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


LISTINGS: Mapping[str, Listing] = {
    listing.name: listing
    for listing in (
        Listing(
            "payments",
            "Payments",
            PAYMENTS,
            "/internal/payments",
            ("status", "order_id", "since", "until"),
            "next",
            "cursor",
            "payment_id",
        ),
        Listing(
            "ipns",
            "IPN log",
            PAYMENTS,
            "/internal/ipns",
            ("order_id", "payment_id", "result", "source", "signature_valid", "since", "until"),
            "next",
            "before",
            "id",
            {"source": ("ipn", "poll")},
        ),
        Listing(
            "flags",
            "Payment flags",
            PAYMENTS,
            "/internal/flags",
            ("status", "kind", "order_id"),
            "next",
            "before",
            "id",
            {"status": FLAG_STATUSES, "kind": FLAG_KINDS},
        ),
        Listing(
            "reservations",
            "Reservations",
            KINGUIN_GATEWAY,
            "/internal/reservations",
            ("status", "order_id", "reservation_id"),
            "next_offset",
            "offset",
        ),
        Listing(
            "webhooks",
            "Kinguin webhooks",
            KINGUIN_GATEWAY,
            "/internal/webhooks",
            ("order_id", "event_name", "authenticated", "duplicate"),
            "next_offset",
            "offset",
            "id",
        ),
        Listing(
            "sagas",
            "Sagas",
            FULFILLMENT,
            "/internal/sagas",
            ("state", "order_id", "older_than", "stuck_for"),
            "next_offset",
            "offset",
        ),
    )
}


class BadFilter(ValueError):
    def __init__(self, name: str, value: str) -> None:
        super().__init__(f"Filter {name!r} has value {value!r}: not an id, status or time.")
        self.name = name


def chosen_filters(listing: Listing, query: Mapping[str, str]) -> dict[str, str]:
    """The listing's filters present (and not blank) in `query`; `BadFilter` for a value
    that is not a plain token, so nothing odd reaches another service."""
    chosen: dict[str, str] = {}
    for name in (*listing.filters, listing.page_param):
        value = query.get(name, "").strip()
        if not value:
            continue
        if not _VALUE.match(value):
            raise BadFilter(name, value)
        chosen[name] = value
    return chosen


def next_page(listing: Listing, answer: Mapping[str, object]) -> dict[str, str] | None:
    """The query parameter that fetches the page after `answer`, or None at the end."""
    value = answer.get(listing.next_field)
    if value is None or value == "":
        return None
    return {listing.page_param: str(value)}


def columns(items: Sequence[Mapping[str, object]]) -> list[str]:
    """Every field of `items`, in the order first seen: the listing's table header."""
    seen: dict[str, None] = {}
    for item in items:
        seen.update(dict.fromkeys(item))
    return list(seen)


def link(listing: Listing, column: str, value: JsonValue) -> str | None:
    """Where a cell of `column` holding `value` leads: the item's own page for the
    listing's `item_field`, else as `linked` says."""
    if column == listing.item_field and _is_id(value):
        return f"/admin/{listing.name}/{quote(str(value), safe='')}"
    return linked(column, value)


def linked(column: str, value: JsonValue) -> str | None:
    """The page of what a `LINKED_COLUMNS` column names; None for another column and for
    a value that is not an id (empty, null, an object)."""
    prefix = LINKED_COLUMNS.get(column)
    if prefix is None or not _is_id(value):
        return None
    return prefix + quote(str(value), safe="")


def _is_id(value: JsonValue) -> bool:
    return not isinstance(value, bool) and isinstance(value, str | int) and value != ""


def items_of(answer: Mapping[str, JsonValue]) -> list[dict[str, JsonValue]] | None:
    """The objects of a listing's ``items``; None if the answer has no such list."""
    items = answer.get("items")
    if not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, dict)]
