"""The listings the admin shows from the other services' internal APIs: where each one
lives, which filters it takes, and how its pages are chained. Pure data and rules."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import JsonValue

from bitloot_contracts.topics import FULFILLMENT, KINGUIN_GATEWAY, PAYMENTS

# Filter values are ids, statuses, e-mail addresses and ISO times; nothing else is passed on.
_VALUE = re.compile(r"^[\w.@:+\-]{1,128}$")


@dataclass(frozen=True)
class Listing:
    """One listing: `service`'s `path`, the `filters` it accepts, and which field of its
    answer (`next_field`) becomes which query parameter (`page_param`) of the next page."""

    name: str
    title: str
    service: str
    path: str
    filters: tuple[str, ...]
    next_field: str
    page_param: str


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
        ),
        Listing(
            "ipns",
            "IPN log",
            PAYMENTS,
            "/internal/ipns",
            ("order_id", "payment_id", "result", "signature_valid", "since", "until"),
            "next",
            "before",
        ),
        Listing(
            "flags",
            "Payment flags",
            PAYMENTS,
            "/internal/flags",
            ("kind", "order_id"),
            "next",
            "before",
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


def items_of(answer: Mapping[str, JsonValue]) -> list[dict[str, JsonValue]] | None:
    """The objects of a listing's ``items``; None if the answer has no such list."""
    items = answer.get("items")
    if not isinstance(items, list):
        return None
    return [item for item in items if isinstance(item, dict)]
