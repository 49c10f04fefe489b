"""Which handler consumes which topic."""

import asyncio

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
    # A purchase and a key return commit steps of their own before calling Kinguin, while
    # the message's unit holds the order's lock: at most half the pool runs them at once,
    # or a burst as large as the prefetch holds every connection and waits for one more.
    own_commits = asyncio.Semaphore(max(1, runtime.settings.database_max_connections // 2))
    runtime.subscribe(
        Route(topics.RESERVATION_REQUESTED, ReservationRequested, reserve, slots=own_commits)
    )
    runtime.subscribe(Route(topics.RESERVATION_POLL, ReservationPoll, poll))
    runtime.subscribe(Route(topics.KEYS_REQUESTED, KeysRequested, fetch_keys))
    runtime.subscribe(Route(topics.CATALOG_PRODUCT_LISTED, ProductListed, ApplyListing()))
    runtime.subscribe(Route(topics.KEYS_REVOKED, KeysRevoked, return_keys, slots=own_commits))
