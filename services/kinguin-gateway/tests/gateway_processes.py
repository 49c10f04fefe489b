"""The gateway run as real processes (``python -m bitloot_kinguin_gateway``), and events
published to it as fulfillment's outbox relay would: for tests that kill a gateway or run
several side by side."""

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import aio_pika
from kinguin_gateway_support import API_KEY, INTERNAL_TOKEN, WEBHOOK_SECRET

from bitloot_contracts.events import Event
from bitloot_runtime.sealing import generate_key_pair
from bitloot_runtime.settings import DEFAULT_RETRY_DELAYS
from bitloot_runtime.topology import Topology
from bitloot_testing.net import free_port
from bitloot_testing.processes import ServiceProcess, service_processes
from bitloot_testing.rabbitmq import BusNamespace


def environment(
    database_url: str, bus: BusNamespace, kinguin_url: str, settings: Mapping[str, str]
) -> dict[str, str]:
    """A gateway process's environment; `settings` by name without the prefix."""
    return {
        **os.environ,
        "KINGUIN_GATEWAY_DATABASE_URL": database_url,
        "KINGUIN_GATEWAY_AMQP_URL": bus.amqp_url,
        "KINGUIN_GATEWAY_BUS_PREFIX": bus.prefix,
        "KINGUIN_GATEWAY_HTTP_PORT": str(free_port()),
        "KINGUIN_GATEWAY_INTERNAL_TOKEN": INTERNAL_TOKEN,
        "KINGUIN_GATEWAY_KINGUIN_API_URL": kinguin_url,
        "KINGUIN_GATEWAY_KINGUIN_API_KEY": API_KEY,
        "KINGUIN_GATEWAY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "KINGUIN_GATEWAY_DELIVERY_PUBLIC_KEY": generate_key_pair()[1],
        **{f"KINGUIN_GATEWAY_{name}": value for name, value in settings.items()},
    }


def gateway_processes(
    database_url: str,
    bus: BusNamespace,
    kinguin_url: str,
    logs: Path,
    settings: Mapping[str, str] | None = None,
) -> AbstractAsyncContextManager[Callable[[], ServiceProcess]]:
    """Starts gateway processes on demand; stops those still running at the end. Their
    output goes to ``kinguin-gateway-<n>.log`` in `logs`."""
    return service_processes(
        "bitloot_kinguin_gateway",
        "kinguin-gateway",
        lambda: environment(database_url, bus, kinguin_url, settings or {}),
        logs,
        bus,
        Topology(bus.prefix).names("kinguin-gateway", DEFAULT_RETRY_DELAYS),
    )


async def publish(bus: BusNamespace, *events: Event) -> None:
    """Publish as fulfillment's outbox relay would: persistent, id and order attached."""
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(Topology(bus.prefix).exchange.name)
        for event in events:
            message = aio_pika.Message(
                event.model_dump_json().encode(),
                message_id=str(event.event_id),
                correlation_id=str(event.order_id),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                content_type="application/json",
            )
            await exchange.publish(message, routing_key=event.topic, mandatory=True)
