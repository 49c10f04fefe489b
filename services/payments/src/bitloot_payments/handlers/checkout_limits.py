"""Checkout rate limits: how many orders one client, and the whole shop, may place per
window, counted in the shared ``rate_limits`` table so that every instance counts the same
hits. Each order asks NOWPayments for an invoice, so the limits are checked before any
order row is written or any invoice asked for.

The client is the address `create_app` resolved through ``PAYMENTS_TRUSTED_PROXIES``: the
connection's peer, or the client a trusted proxy forwarded. IPv6 clients are counted per
/64 network (one subscriber's allocation, whose addresses cost nothing to rotate).
"""

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bitloot_payments.adapters.orm import rate_limits
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.rate_limits import Limit, RateLimited, RateLimiter

logger = logging.getLogger(__name__)

IPV6_PREFIX = 64
SHOP = "shop"
# Counters of windows that started longer ago than this are deleted (every window of
# these limits and of the refund claims' is an hour or less).
COUNTER_MEMORY = timedelta(days=1)
SWEEP_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class CheckoutLimits:
    """Orders per client address, and orders for the whole shop, per window."""

    per_client: Limit
    shop_wide: Limit


def client_bucket(client: str | None) -> str:
    """The bucket a client address counts in: the address itself for IPv4, its /64 for
    IPv6, ``unknown`` when the server knows no address (not a socket peer)."""
    try:
        address = ipaddress.ip_address(client or "")
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


class CheckoutGate:
    """Admits a checkout, or refuses it with `RateLimited` past either limit."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], limits: CheckoutLimits) -> None:
        self._unit_of_work = unit_of_work
        self._limits = limits

    async def admit(self, client: str | None) -> None:
        """Count one checkout for `client` and for the shop; `RateLimited` past either.

        A refused request still counts against its client (so hammering does not shorten
        the wait), but a client refused on its own limit takes nothing from the shop's, so
        that one client cannot exhaust everyone's checkouts."""
        async with self._unit_of_work() as uow:
            limiter, now = RateLimiter(uow.session, rate_limits), datetime.now(UTC)
            try:
                await limiter.hit(self._limits.per_client, client_bucket(client), now)
                await limiter.hit(self._limits.shop_wide, SHOP, now)
            except RateLimited as exc:
                await uow.commit()
                logger.warning(
                    "checkout refused: rate limited",
                    extra={"limit": exc.limit.name, "retry_after": exc.retry_after},
                )
                raise
            await uow.commit()

    async def forget_old_counters(self) -> int:
        """Delete the counters (of every limit in the table) older than `COUNTER_MEMORY`;
        how many: an address seen once must not stay in the table for ever."""
        async with self._unit_of_work() as uow:
            limiter = RateLimiter(uow.session, rate_limits)
            forgotten = await limiter.forget_before(datetime.now(UTC) - COUNTER_MEMORY)
            await uow.commit()
        return forgotten

    async def sweep(self) -> None:
        """`forget_old_counters` now and every hour until cancelled."""
        while True:
            try:
                await self.forget_old_counters()
            except Exception:
                logger.exception("rate limit counter sweep failed; will try again")
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
