"""Pages of the other services' listings (payments, IPNs, reservations, webhooks, sagas)
and single documents (a payment, a webhook, an order's key audit and emails)."""

from dataclasses import dataclass, field

from pydantic import JsonValue

from bitloot_admin.adapters.upstream import NotFound, UpstreamClient
from bitloot_admin.domain.listings import Listing, items_of, next_page


@dataclass
class ListingPage:
    items: list[dict[str, JsonValue]] = field(default_factory=list)
    next: dict[str, str] | None = None
    partial: list[str] = field(default_factory=list)


@dataclass
class Found:
    """A document, None if the service does not know it; `partial` if it did not answer."""

    document: dict[str, JsonValue] | None
    partial: list[str]


async def fetch_listing(
    upstream: UpstreamClient, listing: Listing, filters: dict[str, str], limit: int
) -> ListingPage:
    answer = await upstream.get_document(
        listing.service, listing.path, {**filters, "limit": str(limit)}
    )
    items = items_of(answer) if isinstance(answer, dict) else None
    if items is None or not isinstance(answer, dict):
        return ListingPage(partial=[listing.service])
    return ListingPage(items, next_page(listing, answer))


async def fetch_document(upstream: UpstreamClient, service: str, path: str) -> Found:
    answer = await upstream.get_document(service, path)
    if isinstance(answer, dict):
        return Found(answer, [])
    return Found(None, [] if isinstance(answer, NotFound) else [service])
