"""Which handler consumes which topic."""

from bitloot_contracts import topics
from bitloot_contracts.events import (
    KeysRequested,
    KeysRevoked,
    ProductListed,
    ReservationPoll,
    ReservationRequested,
)
from bitloot_kinguin_gateway.handlers.catalog import ApplyListing
from bitloot_kinguin_gateway.handlers.key_returns import ReturnKeys
from bitloot_kinguin_gateway.handlers.keys import FetchKeys
from bitloot_kinguin_gateway.handlers.polling import Poll
from bitloot_kinguin_gateway.handlers.reservations import Reserve
from bitloot_runtime.consumer import Route
from bitloot_runtime.service import ServiceRuntime


def subscribe(
    runtime: ServiceRuntime,
    reserve: Reserve,
    poll: Poll,
    fetch_keys: FetchKeys,
    return_keys: ReturnKeys,
) -> None:
    """Register every gateway handler on its queue."""
    runtime.subscribe(Route(topics.RESERVATION_REQUESTED, ReservationRequested, reserve))
    runtime.subscribe(Route(topics.RESERVATION_POLL, ReservationPoll, poll))
    runtime.subscribe(Route(topics.KEYS_REQUESTED, KeysRequested, fetch_keys))
    runtime.subscribe(Route(topics.CATALOG_PRODUCT_LISTED, ProductListed, ApplyListing()))
    runtime.subscribe(Route(topics.KEYS_REVOKED, KeysRevoked, return_keys))
