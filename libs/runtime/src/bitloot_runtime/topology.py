"""Names and declaration of everything on the bus.

One durable topic exchange; one durable quorum queue per (service, topic) bound with the
topic as routing key; per service, one fanout exchange and one TTL queue per retry delay.
A message to retry is published to the delay exchange with the target queue's name as
routing key; when its TTL expires the delay queue dead-letters it to the default exchange,
which routes by that name straight back to the one queue that failed, and to no other.

Every service declares the queues of the whole bus (from the contracts' subscription map),
so an event published before its consumer first started is queued, not returned.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

from bitloot_contracts.topics import EXCHANGE, SUBSCRIPTIONS


@dataclass(frozen=True)
class Topology:
    """Every name on the bus, under an optional prefix (one environment or test run)."""

    prefix: str = ""

    @property
    def exchange(self) -> RabbitExchange:
        return RabbitExchange(f"{self.prefix}{EXCHANGE}", type=ExchangeType.TOPIC, durable=True)

    def queue_name(self, service: str, topic: str) -> str:
        return f"{self.prefix}{service}.{topic}"

    def queue(self, service: str, topic: str) -> RabbitQueue:
        return RabbitQueue(
            self.queue_name(service, topic), queue_type=QueueType.QUORUM, durable=True
        )

    def delay_name(self, service: str, delay: float) -> str:
        return f"{self.prefix}{service}.delay.{round(delay * 1000)}ms"

    def delay_exchange(self, service: str, delay: float) -> RabbitExchange:
        return RabbitExchange(
            self.delay_name(service, delay), type=ExchangeType.FANOUT, durable=True
        )

    def delay_queue(self, service: str, delay: float) -> RabbitQueue:
        return RabbitQueue(
            self.delay_name(service, delay),
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={
                "x-message-ttl": round(delay * 1000),
                "x-dead-letter-exchange": "",
                # Quorum queues dead-letter at-least-once only with reject-publish overflow;
                # otherwise a message could vanish between the delay queue and its target.
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )

    def names(
        self,
        service: str,
        delays: Iterable[float],
        subscriptions: Mapping[str, Iterable[str]] = SUBSCRIPTIONS,
    ) -> list[str]:
        """Every queue and exchange name `declare_topology` creates (for tear-down)."""
        queues = [self.queue_name(s, t) for s, topics in subscriptions.items() for t in topics]
        return [self.exchange.name, *queues, *(self.delay_name(service, d) for d in delays)]


async def declare_topology(
    broker: RabbitBroker,
    topology: Topology,
    service: str,
    delays: Iterable[float],
    subscriptions: Mapping[str, Iterable[str]] = SUBSCRIPTIONS,
) -> None:
    """Declare the exchange, every consumer queue and this service's delay queues.

    Idempotent: declaring what exists with the same arguments changes nothing.
    """
    exchange = await broker.declare_exchange(topology.exchange)
    for consumer, topics in subscriptions.items():
        for topic in topics:
            queue = await broker.declare_queue(topology.queue(consumer, topic))
            await queue.bind(exchange, routing_key=topic)
    for delay in delays:
        delay_exchange = await broker.declare_exchange(topology.delay_exchange(service, delay))
        delay_queue = await broker.declare_queue(topology.delay_queue(service, delay))
        await delay_queue.bind(delay_exchange)
