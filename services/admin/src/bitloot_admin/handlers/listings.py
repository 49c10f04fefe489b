"""Pages of the other services' listings (payments, IPNs, reservations, webhooks, sagas)
and single documents (a payment, a webhook, an order's key audit and emails)."""

import asyncio
from dataclasses import dataclass, field

from pydantic import JsonValue

from bitloot_admin.adapters.upstream import NotFound, UpstreamClient
from bitloot_admin.domain.listings import Listing, items_of, next_page
from bitloot_admin.handlers.ports import UsesUpstream
from bitloot_contracts.topics import PAYMENTS


@dataclass
class ListingPage:
    items: list[dict[str, JsonValue]] = field(default_factory=list)
    next: dict[str, str] | None = None
    partial: list[str] = field(default_factory=list)
    # The catalog's product titles by sku and by Kinguin product id, for a listing that
    # shows an order's lines (empty if payments did not answer: the ids are shown).
    titles: dict[str, str] = field(default_factory=dict)


@dataclass
class Found:
    """A document, None if the service does not know it; `partial` if it did not answer."""

    document: dict[str, JsonValue] | None
    partial: list[str]


class ShowListing(UsesUpstream):
    """A page of `listing`, and the catalog's titles if it shows an order's lines (both
    asked at once)."""

    async def __call__(self, listing: Listing, filters: dict[str, str], limit: int) -> ListingPage:
        wanted = self._upstream.get_document(
            listing.service, listing.path, {**filters, "limit": str(limit)}
        )
        if listing.lines:
            answer, known = await asyncio.gather(wanted, product_titles(self._upstream))
        else:
            answer, known = await wanted, {}
        items = items_of(answer) if isinstance(answer, dict) else None
        if items is None or not isinstance(answer, dict):
            return ListingPage(partial=[listing.service])
        return ListingPage(items, next_page(listing, answer), titles=known)


async def product_titles(upstream: UpstreamClient) -> dict[str, str]:
    """Each product's title by its sku and by its Kinguin product id, from payments'
    catalog; empty if payments did not answer."""
    answer = await upstream.get_document(PAYMENTS, "/internal/products")
    titles: dict[str, str] = {}
    for product in (items_of(answer) or []) if isinstance(answer, dict) else []:
        title = product.get("title")
        if not isinstance(title, str):
            continue
        for key in ("sku", "kinguin_product_id"):
            if isinstance(value := product.get(key), str | int):
                titles.setdefault(str(value), title)
    return titles


class ShowDocument(UsesUpstream):
    async def __call__(self, service: str, path: str) -> Found:
        upstream = self._upstream
        answer = await upstream.get_document(service, path)
        if isinstance(answer, dict):
            return Found(answer, [])
        return Found(None, [] if isinstance(answer, NotFound) else [service])
