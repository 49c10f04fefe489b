"""The health dashboard: each service's readiness and outbox, the bus's queues and the
Kinguin balance, all asked at the same time, each within the upstream timeout."""

import asyncio
import json
import logging
from dataclasses import dataclass, field

from pydantic import JsonValue

from bitloot_admin.adapters import queues
from bitloot_admin.adapters.queues import QueueDepth
from bitloot_admin.adapters.upstream import SERVICES, Reply, UpstreamClient
from bitloot_admin.domain.health import (
    GatewayBalance,
    KinguinBalance,
    OutboxGauges,
    kinguin_balance,
    outbox_gauges,
)
from bitloot_contracts.topics import KINGUIN_GATEWAY, SUBSCRIPTIONS
from bitloot_runtime.topology import Topology

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceHealth:
    service: str
    ready: bool
    checks: dict[str, JsonValue]
    outbox: OutboxGauges | None


@dataclass
class Health:
    services: list[ServiceHealth]
    queues: list[QueueDepth]
    balance: KinguinBalance
    partial: list[str] = field(default_factory=list)
    # The demo's in-memory broker: no queues to read, and nothing missing for it.
    in_memory_bus: bool = False


@dataclass(frozen=True)
class Bus:
    """Where the bus is and how its queues are named (the runtime's Topology and prefix);
    `amqp_url` None when the admin runs on the in-memory broker (the demo)."""

    amqp_url: str | None
    topology: Topology

    def queue_names(self) -> list[str]:
        return [
            self.topology.queue_name(service, topic)
            for service, topics in SUBSCRIPTIONS.items()
            for topic in topics
        ]


class CheckHealth:
    """Every service's readiness and outbox, the queues and the balance, at once."""

    def __init__(self, upstream: UpstreamClient, bus: Bus, timeout: float) -> None:
        self._upstream = upstream
        self._bus = bus
        self._timeout = timeout

    async def __call__(self) -> Health:
        bus = self._bus
        timeout = self._timeout
        services, depths, balance = await asyncio.gather(
            asyncio.gather(*(_service(self._upstream, service) for service in SERVICES)),
            _queues(bus, timeout),
            self._upstream.get(KINGUIN_GATEWAY, "/internal/balance", GatewayBalance),
        )
        partial = [s.service for s in services if s.outbox is None and not s.checks]
        in_memory = bus.amqp_url is None
        if depths is None and not in_memory:
            partial.append("rabbitmq")
        shown = kinguin_balance(balance if isinstance(balance, GatewayBalance) else None)
        return Health(list(services), depths or [], shown, partial, in_memory_bus=in_memory)


async def _service(upstream: UpstreamClient, service: str) -> ServiceHealth:
    ready, metrics = await asyncio.gather(
        upstream.probe(service, "/readyz"), upstream.probe(service, "/metrics")
    )
    checks: dict[str, JsonValue] = {}
    if isinstance(ready, Reply):
        try:
            body = json.loads(ready.text)
        except ValueError:
            body = {}
        found = body.get("checks") if isinstance(body, dict) else None
        checks = found if isinstance(found, dict) else {"readyz": f"http {ready.status}"}
    is_ready = isinstance(ready, Reply) and ready.status == 200
    gauges = outbox_gauges(metrics.text) if isinstance(metrics, Reply) and metrics.ok else None
    return ServiceHealth(service, is_ready, checks, gauges)


async def _queues(bus: Bus, timeout: float) -> list[QueueDepth] | None:
    if bus.amqp_url is None:
        return None
    try:
        return await queues.depths(bus.amqp_url, bus.queue_names(), timeout)
    except Exception as exc:
        # Any failure to reach the broker is shown as "rabbitmq" missing, never a 500.
        logger.warning("queue depths unavailable", extra={"error": type(exc).__name__})
        return None
