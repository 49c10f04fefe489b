"""Publishing to RabbitMQ: persistent, `mandatory`, and confirmed by the broker.

The broker is built with publisher confirms and `on_return_raises`, so `publish` returns
only once RabbitMQ has taken responsibility for the message, and raises if it was
unroutable or refused. Nothing here retries: the outbox relay and the consumer decide.
"""

import asyncio
from collections.abc import Mapping

from aio_pika.abc import AbstractConnection
from faststream.rabbit import Channel, RabbitBroker, RabbitExchange

from bitloot_contracts.events import Event
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.propagation import current_traceparent
from bitloot_runtime.topology import Topology
from bitloot_runtime.tracing import child_traceparent

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

    def __init__(self, broker: RabbitBroker, topology: Topology, metrics: RuntimeMetrics) -> None:
        self._broker = broker
        self._topology = topology
        self._metrics = metrics

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
            await self._send(self._topology.exchange, topic, body, message_id, order_id, headers)
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
            headers={"traceparent": child_traceparent(current_traceparent.get())},
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
        await self._send(via, queue, body, message_id, order_id, headers)

    async def _send(
        self,
        exchange: RabbitExchange | None,
        routing_key: str,
        body: bytes,
        message_id: str,
        order_id: str | None,
        headers: Mapping[str, str | int],
    ) -> None:
        await self._broker.publish(
            body,
            exchange=exchange,
            routing_key=routing_key,
            mandatory=True,
            persist=True,
            message_id=message_id,
            correlation_id=order_id,
            headers=dict(headers),
            content_type="application/json",
            timeout=PUBLISH_TIMEOUT,
        )
