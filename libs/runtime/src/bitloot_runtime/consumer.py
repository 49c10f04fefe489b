"""Consuming events: validate, deduplicate, handle in one transaction, ack after commit.

For each message on `<service>.<topic>`:

1. The body is validated against the topic's contract; an invalid message is parked at
   once and never retried.
2. In one unit of work the consumer claims `(consumer, message id)` in the inbox, runs
   the handler (which changes state and emits events) and commits. A message already in
   the inbox is acknowledged with no second effect.
3. A `PermanentError` parks the message. Any other error sends it to the delay queue for
   its attempt (1 s, 5 s, … by default); after the last delay it is parked. A retry that
   cannot be sent (the broker failing just then) is not a reason to park: the message
   goes back to its queue as in 4, so a broker blip never leaves it waiting for a human.
   On FastStream's in-memory broker (the one-process demo) there are no delay queues:
   the retry is a timer in this process instead, lost if the process stops, as is
   everything on an in-memory bus.
4. Only then is the message acked. If no outcome could be recorded (the retry could not
   be sent, or parking could not be stored), it is returned to its queue after a pause,
   never dropped and never requeued in a tight loop.

On a real broker the consumer is aio-pika itself: one robust channel with the service's
prefetch, one `basic.consume` per subscribed queue, each delivery handled in its own task
(aiormq starts one per delivery) with no framework in between, because the framework's
dependency injection cost more per message than the handling around it. The channel is
restored with its consumers when the connection comes back. FastStream serves only the
in-memory broker of the one-process demo.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractQueue
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitMessage, RabbitQueue
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from bitloot_contracts.events import Event
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.dead_letters import DeadLetterStore, summarize
from bitloot_runtime.delivery import Delivery
from bitloot_runtime.errors import PermanentError
from bitloot_runtime.logging import log_context
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.propagation import current_traceparent
from bitloot_runtime.publisher import BusPublisher
from bitloot_runtime.telemetry import NO_SPAN, continued, current_trace_id, enabled
from bitloot_runtime.topology import Topology

logger = logging.getLogger(__name__)

EventT = TypeVar("EventT", bound=Event)
# A use case consumes its event in the unit of work the runtime opened for the message: the
# service's own `UnitOfWork` subclass (`ServiceRuntime`'s `unit_of_work_class`), which
# hands out its repositories; typed by each handler as its service's `Work` port.
Handler = Callable[[EventT, Any], Awaitable[None]]
REQUEUE_PAUSE = 5.0
# How long `stop` waits for the messages in hand to finish before closing the channel
# (their messages are then redelivered: nothing was acked).
DRAIN_SECONDS = 15.0
# How long `stop` waits for the broker to confirm a cancel or a close: a reply that never
# comes (a connection dropping at that moment) must not hold up the shutdown.
BROKER_REPLY_SECONDS = 5.0


class _Settle(Protocol):
    """Acknowledging a message: aio-pika's own, or FastStream's around it (in memory)."""

    async def ack(self) -> None: ...

    async def nack(self, *, requeue: bool) -> None: ...


@dataclass(frozen=True)
class Route(Generic[EventT]):
    """A topic, the contract its messages must satisfy, and the use case that handles them."""

    topic: str
    model: type[EventT]
    handler: Handler[EventT]
    # Taken before the message's unit of work opens, by a handler that opens units of its
    # own while that one is open (a commit that must not wait for the message's): each
    # such handler needs two of the pool's connections at once, so a burst of them, each
    # holding one and waiting for another, would take the whole pool and wait for it.
    # Sized below the pool, its holders always leave connections for their own units.
    slots: asyncio.Semaphore | None = None


class Consumer:
    """Subscribes a service's handlers to its queues with the delivery guarantees above."""

    def __init__(
        self,
        *,
        service: str,
        broker: RabbitBroker,
        topology: Topology,
        unit_of_work: Callable[[], UnitOfWork],
        publisher: BusPublisher,
        dead_letters: DeadLetterStore,
        metrics: RuntimeMetrics,
        retry_delays: Sequence[float],
        prefetch: int = 16,
        in_memory: bool = False,
    ) -> None:
        self._service = service
        self._broker = broker
        self._topology = topology
        self._unit_of_work = unit_of_work
        self._publisher = publisher
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._delays = tuple(retry_delays)
        self._prefetch = prefetch
        self._in_memory = in_memory
        self._timers: set[asyncio.Task[None]] = set()
        self._routes: list[tuple[Route[Any], str]] = []
        self._channel: AbstractChannel | None = None
        self._consuming: list[tuple[AbstractQueue, str]] = []
        # The metrics' children of each queue (and outcome), looked up once: `labels()`
        # takes a lock and builds its key on every call.
        self._consumed: dict[tuple[str, str], Counter] = {}
        self._handler_seconds: dict[str, Histogram] = {}
        self._in_hand = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def subscribe(self, route: Route[EventT]) -> None:
        """Consume `route.topic` from this service's queue for it (declared by the topology)."""
        queue = self._topology.queue_name(self._service, route.topic)
        if not self._in_memory:
            self._routes.append((route, queue))
            return

        async def on_message(message: RabbitMessage) -> None:
            await self._on_message(route, queue, message.raw_message, message)

        # The in-memory broker routes by the subscriber's own exchange and key, not by
        # declared bindings: subscribe to the topic on the exchange itself.
        bound = RabbitQueue(queue, routing_key=route.topic, declare=False)
        self._broker.subscriber(
            bound, self._topology.exchange, ack_policy=AckPolicy.MANUAL, no_reply=True
        )(on_message)

    async def start(self, connection: AbstractConnection) -> None:
        """Start consuming every subscribed queue on one channel of `connection` (a robust
        connection restores the channel, its prefetch and its consumers after a reconnect).
        The queues must exist: `declare_topology` declares them."""
        if not self._routes:
            return
        self._channel = channel = await connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        for route, name in self._routes:
            queue = await channel.get_queue(name)  # passive: the topology declared it

            async def on_delivery(
                message: AbstractIncomingMessage, route: Route[Any] = route, name: str = name
            ) -> None:
                await self._on_message(route, name, message, message)

            self._consuming.append((queue, await queue.consume(on_delivery)))

    async def stop(self) -> None:
        """Stop taking messages, let those in hand finish (up to `DRAIN_SECONDS`), close."""
        for queue, tag in self._consuming:
            try:
                await asyncio.wait_for(queue.cancel(tag), BROKER_REPLY_SECONDS)
            except Exception as exc:  # the channel is gone: nothing more will arrive anyway
                logger.warning("could not cancel a consumer", extra={"error": summarize(exc)})
        self._consuming.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), DRAIN_SECONDS)
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._channel.close(), BROKER_REPLY_SECONDS)
            self._channel = None

    async def _on_message(
        self, route: Route[EventT], queue: str, raw: AbstractIncomingMessage, settle: _Settle
    ) -> None:
        self._in_hand += 1
        self._idle.clear()
        delivery = Delivery.from_amqp(
            queue=queue,
            routing_key=raw.routing_key,
            body=raw.body,
            message_id=raw.message_id,
            correlation_id=raw.correlation_id,
            headers=raw.headers,
        )
        traceparent = delivery.headers.get("traceparent")
        token = current_traceparent.set(traceparent)
        try:
            # The message's trace goes on here (when tracing is on): the events the
            # handler emits carry this span's context.
            with (
                _span(route, delivery, traceparent) as span,
                log_context(
                    order_id=delivery.order_id,
                    message_id=delivery.message_id,
                    trace_id=current_trace_id(traceparent),
                ),
            ):
                try:
                    outcome = await self._process(route, delivery)
                except Exception:
                    logger.exception("could not record the outcome; returning message to queue")
                    self._count(queue, "requeued")
                    await asyncio.sleep(REQUEUE_PAUSE)
                    await settle.nack(requeue=True)
                    return
                if span is not None:
                    span.set_attribute("bitloot.outcome", outcome)
                self._count(queue, outcome)
                await settle.ack()
        finally:
            current_traceparent.reset(token)
            self._in_hand -= 1
            if not self._in_hand:
                self._idle.set()

    async def _process(self, route: Route[EventT], delivery: Delivery) -> str:
        try:
            event = route.model.model_validate_json(delivery.body)
        except ValidationError as exc:
            return await self._park(delivery, "invalid", summarize(exc))
        started = time.perf_counter()
        try:
            handled = await self._handle(route, event, delivery)
        except PermanentError as exc:
            return await self._park(delivery, "permanent", f"{exc.code}: {exc}")
        except Exception as exc:
            return await self._retry_or_park(route, delivery, exc)
        finally:
            self._time(delivery.queue, time.perf_counter() - started)
        return "ok" if handled else "duplicate"

    async def _handle(self, route: Route[EventT], event: EventT, delivery: Delivery) -> bool:
        async with route.slots or contextlib.nullcontext(), self._unit_of_work() as uow:
            if not await uow.claim(f"{self._service}.{route.topic}", delivery.message_id):
                logger.info("duplicate message ignored", extra={"topic": route.topic})
                return False
            await route.handler(event, uow)
            await uow.commit()
        logger.info("message handled", extra={"topic": route.topic, "attempt": delivery.attempt})
        return True

    async def _retry_or_park(
        self, route: Route[EventT], delivery: Delivery, error: Exception
    ) -> str:
        if delivery.attempt > len(self._delays):
            return await self._park(delivery, "exhausted", summarize(error))
        delay = self._delays[delivery.attempt - 1]
        if self._in_memory:
            self._retry_in_process(route, delivery, delay)
            return "retried"
        try:
            await self._publisher.send_to_queue(
                queue=delivery.queue,
                body=delivery.body,
                message_id=delivery.message_id,
                order_id=delivery.order_id,
                headers=delivery.next_attempt_headers(datetime.now(UTC)),
                via=self._topology.delay_exchange(self._service, delay),
            )
        except Exception as publish_error:
            # The handler failed for a reason that may pass, and the broker failed too: the
            # message goes back to its queue (`_on_message`), not to a human.
            logger.warning(
                "retry could not be scheduled",
                extra={"error": summarize(error), "publish_error": summarize(publish_error)},
            )
            raise
        logger.warning(
            "handler failed; retrying",
            extra={"attempt": delivery.attempt, "delay_s": delay, "error": summarize(error)},
        )
        self._metrics.retried.labels(queue=delivery.queue).inc()
        return "retried"

    def _retry_in_process(self, route: Route[EventT], delivery: Delivery, delay: float) -> None:
        retry = Delivery.from_amqp(
            queue=delivery.queue,
            routing_key=delivery.topic,
            body=delivery.body,
            message_id=delivery.message_id,
            correlation_id=delivery.order_id,
            headers=delivery.next_attempt_headers(datetime.now(UTC)),
        )

        async def later() -> None:
            await asyncio.sleep(delay)
            with log_context(order_id=retry.order_id, message_id=retry.message_id):
                outcome = await self._process(route, retry)
            self._count(retry.queue, outcome)

        task = asyncio.create_task(later())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
        self._metrics.retried.labels(queue=delivery.queue).inc()

    def _count(self, queue: str, outcome: str) -> None:
        counter = self._consumed.get((queue, outcome))
        if counter is None:
            counter = self._metrics.consumed.labels(queue=queue, outcome=outcome)
            self._consumed[queue, outcome] = counter
        counter.inc()

    def _time(self, queue: str, seconds: float) -> None:
        histogram = self._handler_seconds.get(queue)
        if histogram is None:
            histogram = self._metrics.handler_seconds.labels(queue=queue)
            self._handler_seconds[queue] = histogram
        histogram.observe(seconds)

    async def _park(self, delivery: Delivery, reason: str, error: str) -> str:
        await self._dead_letters.park(delivery, reason=reason, error=error)
        logger.error("message parked", extra={"reason": reason, "error": error})
        self._metrics.parked.labels(queue=delivery.queue, reason=reason).inc()
        return "parked"


def _span(
    route: Route[EventT], delivery: Delivery, traceparent: str | None
) -> AbstractContextManager[trace.Span | None]:
    """The message's CONSUMER span, continuing its ``traceparent``; `NO_SPAN` when
    tracing is off: no attributes built, no generator entered, per message."""
    if not enabled():
        return NO_SPAN
    return continued(
        traceparent, f"{route.topic} process", SpanKind.CONSUMER, _message_attributes(delivery)
    )


def _message_attributes(delivery: Delivery) -> dict[str, str]:
    """What a consumer span says of its message: the queue, the ids, the attempt."""
    attributes = {
        "messaging.system": "rabbitmq",
        "messaging.operation": "process",
        "messaging.destination.name": delivery.queue,
        "messaging.message.id": delivery.message_id,
        "bitloot.attempt": str(delivery.attempt),
    }
    if delivery.order_id:
        attributes["bitloot.order_id"] = delivery.order_id
    return attributes
