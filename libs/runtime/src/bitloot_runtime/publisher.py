"""Publishing to RabbitMQ: persistent, `mandatory`, and confirmed by the broker.

On a real broker the publisher writes through aio-pika on a channel of its own opened
with publisher confirms and `on_return_raises`, so `publish` returns only once RabbitMQ
has taken responsibility for the message, and raises if it was unroutable or refused.
The channel is robust: it is reopened with the connection; a publish in flight when it
drops raises, and its caller decides. Publishes may run concurrently: their confirms are
awaited together. Nothing here retries: the outbox relay and the consumer decide.

On FastStream's in-memory broker (the one-process demo) the broker publishes.
"""

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from faststream.rabbit import Channel, RabbitBroker, RabbitExchange

from bitloot_contracts.events import Event
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.telemetry import outgoing_traceparent
from bitloot_runtime.topology import Topology

PUBLISH_TIMEOUT = 10.0
# An unblocked, open connection is ready at once; this only bounds the wait on a blocked one.
BLOCKED_PROBE_SECONDS = 0.05


def create_broker(amqp_url: str, *, prefetch: int) -> RabbitBroker:
    """A FastStream broker whose publishes are confirmed and whose returns raise."""
    return RabbitBroker(
        amqp_url,
        default_channel=Channel(
            prefetch_count=prefetch, publisher_confirms=True, on_return_raises=True
        ),
        logger=None,
        # RobustConnection reconnects by itself; keep start-up from hanging forever.
        timeout=10.0,
    )


async def publishing_blocked(connection: AbstractConnection | None) -> bool:
    """Whether RabbitMQ has blocked `connection` (``connection.blocked``, sent on a memory
    or disk alarm): every publish then waits until the alarm clears, though the connection
    stays open and answers pings. aiormq keeps that state private, but its public
    `ready()` waits for it: an open connection that is not ready at once is blocked."""
    transport = connection.transport if connection is not None else None
    if transport is None or not transport.connection.is_opened:
        return False  # not connected at all: the ping reports that
    try:
        await asyncio.wait_for(transport.connection.ready(), BLOCKED_PROBE_SECONDS)
    except TimeoutError:
        return True
    return False


class BusPublisher:
    """Publishes events to the topic exchange, and single messages to a named queue."""

    def __init__(
        self,
        broker: RabbitBroker,
        topology: Topology,
        metrics: RuntimeMetrics,
        *,
        in_memory: bool = False,
    ) -> None:
        """On a real broker, publishes on a channel of `broker`'s connection (connecting
        it on first use); with `in_memory`, through `broker` itself."""
        self._broker = broker
        self._topology = topology
        self._metrics = metrics
        self._in_memory = in_memory
        self._exchange_name = topology.exchange.name
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._opening = asyncio.Lock()

    async def close(self) -> None:
        """Close the publishing channel (the connection is the broker's to close)."""
        channel, self._channel = self._channel, None
        self._exchanges.clear()
        if channel is not None and not channel.is_closed:
            await channel.close()

    async def publish_event(
        self,
        *,
        topic: str,
        body: bytes,
        message_id: str,
        order_id: str | None,
        headers: Mapping[str, str],
    ) -> None:
        """Publish one event with its id as `message_id` and its order as `correlation_id`."""
        try:
            await self._send(self._exchange_name, topic, body, message_id, order_id, headers)
        except Exception:
            self._metrics.publish_failures.labels(topic=topic).inc()
            raise
        self._metrics.published.labels(topic=topic).inc()

    async def publish(self, event: Event) -> None:
        """Publish `event` now, outside any transaction: for tools and tests. A service
        publishes what its state changes cause through the outbox (`UnitOfWork.emit`)."""
        await self.publish_event(
            topic=event.topic,
            body=event.model_dump_json().encode(),
            message_id=str(event.event_id),
            order_id=str(event.order_id),
            headers={"traceparent": outgoing_traceparent()},
        )

    async def send_to_queue(
        self,
        *,
        queue: str,
        body: bytes,
        message_id: str,
        order_id: str | None,
        headers: Mapping[str, str | int],
        via: RabbitExchange | None = None,
    ) -> None:
        """Deliver to exactly one queue: through the default exchange, or through `via`
        (a delay exchange) with the queue's name as routing key."""
        await self._send(via.name if via else "", queue, body, message_id, order_id, headers)

    async def _send(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        message_id: str,
        order_id: str | None,
        headers: Mapping[str, str | int],
    ) -> None:
        if self._in_memory:
            await self._broker.publish(
                body,
                exchange=exchange or None,
                routing_key=routing_key,
                mandatory=True,
                persist=True,
                message_id=message_id,
                correlation_id=order_id,
                headers=dict(headers),
                content_type="application/json",
                timeout=PUBLISH_TIMEOUT,
            )
            return
        message = Message(
            body,
            content_type="application/json",
            headers=dict(headers),
            delivery_mode=DeliveryMode.PERSISTENT,
            correlation_id=order_id,
            message_id=message_id,
            timestamp=datetime.now(UTC),
        )
        # One deadline for the whole publish: waiting for a reconnect, and the confirm.
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            target = self._exchanges.get(exchange) or await self._exchange(exchange)
            await target.publish(message, routing_key, mandatory=True)

    async def _exchange(self, name: str) -> AbstractExchange:
        """`name` on the publishing channel (opened on first use); "" is the default one."""
        async with self._opening:
            if self._channel is None:
                connection = await self._broker.connect()
                self._channel = await connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
            if name not in self._exchanges:
                channel = self._channel
                exchange = channel.default_exchange if not name else None
                # Declared by the topology: no round trip to look it up.
                exchange = exchange or await channel.get_exchange(name, ensure=False)
                self._exchanges[name] = exchange
            return self._exchanges[name]
