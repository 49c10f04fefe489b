"""Checkout rate limits: how many orders one client, and the whole shop, may place per
window, counted in the shared ``rate_limits`` table so that every instance counts the same
hits. Each order asks NOWPayments for an invoice, so the limits are checked before any
order row is written or any invoice asked for.

The client is the address `create_app` resolved through ``PAYMENTS_TRUSTED_PROXIES``: the
connection's peer, or the client a trusted proxy forwarded. An IPv4 address in its
IPv4-mapped IPv6 form (``::ffff:203.0.113.7``, what a dual-stack socket or some proxies
report) is counted as the IPv4 address it is. IPv6 clients are counted per /64 network
(one subscriber's allocation, whose addresses cost nothing to rotate), and each /48 (a
site's allocation, 65 536 of those /64s) has its own limit too, `NETWORK_FACTOR` times a
client's, so that a client rotating its /64s within its allocation is still bounded.

The shop-wide limit is a cost cap (each checkout asks NOWPayments for an invoice), not
fairness: once reached it refuses every customer until its window ends.
"""

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bitloot_payments.handlers.ports import PaymentsWork
from bitloot_runtime.rate_limits import Limit, RateLimited
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)

IPV6_PREFIX = 64
IPV6_NETWORK_PREFIX = 48
# A /48 admits this many times the orders of one client (one /64) per client window.
NETWORK_FACTOR = 5
SHOP = "shop"
# Counters of windows that started longer ago than this are deleted (every window of
# these limits and of the refund claims' is an hour or less).
COUNTER_MEMORY = timedelta(days=1)
SWEEP_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class CheckoutLimits:
    """Orders per client address, per IPv6 /48, and for the whole shop, per window."""

    per_client: Limit
    per_network: Limit
    shop_wide: Limit


def _address(client: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client's address, IPv4-mapped IPv6 unmapped; None when it is no address."""
    try:
        address = ipaddress.ip_address(client or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_bucket(client: str | None) -> str:
    """The bucket a client address counts in: the address itself for IPv4 (also when
    written IPv4-mapped), its /64 for IPv6, ``unknown`` when the server knows no address
    (not a socket peer)."""
    address = _address(client)
    if address is None:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def network_bucket(client: str | None) -> str | None:
    """The /48 an IPv6 client counts in as well; None for IPv4 and unknown clients."""
    address = _address(client)
    if address is None or address.version == 4:
        return None
    return str(ipaddress.ip_network(f"{address}/{IPV6_NETWORK_PREFIX}", strict=False))


class CheckoutGate:
    """Admits a checkout, or refuses it with `RateLimited` past either limit."""

    def __init__(self, unit_of_work: Callable[[], PaymentsWork], limits: CheckoutLimits) -> None:
        self._unit_of_work = unit_of_work
        self._limits = limits

    async def __call__(self, client: str | None) -> None:
        """Count one checkout for `client`, its /48 (IPv6) and the shop; `RateLimited`
        past any.

        A request refused on its client's or its /48's limit still counts there (so
        hammering does not shorten the wait), but takes nothing from the shop's, so that
        one client cannot exhaust everyone's checkouts. A request refused on the shop's
        limit counts nowhere: the customer did nothing wrong, and keeps its own allowance
        for when the shop admits again."""
        limits = self._limits
        async with self._unit_of_work() as uow:
            limiter, now = uow.rate_limits, datetime.now(UTC)
            try:
                await limiter.hit(limits.per_client, client_bucket(client), now)
                if (network := network_bucket(client)) is not None:
                    await limiter.hit(limits.per_network, network, now)
                await limiter.hit(limits.shop_wide, SHOP, now)
            except RateLimited as exc:
                if exc.limit != limits.shop_wide:
                    await uow.commit()
                # else: leaving without commit rolls the client's hits back.
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
            forgotten = await uow.rate_limits.forget_before(datetime.now(UTC) - COUNTER_MEMORY)
            await uow.commit()
        return forgotten

    def sweeper(self) -> Worker:
        """`forget_old_counters` now and every hour, on the runtime's worker loop."""
        return Worker(
            "rate-limit-sweep",
            self.forget_old_counters,
            interval=SWEEP_INTERVAL_SECONDS,
            log=lambda exc: logger.error("rate limit counter sweep failed", exc_info=exc),
        )
