"""Live order status across instances: every instance hears every status change.

The saga's `order.status_changed` events (published when the customer status changes or
the order ends, not at every step) reach the shared `fulfillment.*` queues only once, on
whichever instance consumes them; a customer's WebSocket may be held by another. So each
instance also binds a queue of its own (exclusive, auto-deleted with its connection) to
`order.status_changed`, and to the two other facts the customer status depends on,
`refund.status_changed` and `delivery.completed` (whether the key email was confirmed),
and pushes each to the sockets it holds for that order. It does so only while it holds
at least one socket: the queue is declared and bound for the first and deleted after the
last, so an instance nobody watches consumes none of these events
(`LiveQueue`). This is a live view, not a record: a change missed while no socket
listens is not replayed (a new socket is sent the stored state on connect, read after
the queue is bound, so that no change falls in between).

What a socket knows of its order is a `LiveView`. Its refund and email parts come both
from the stored saga and from these events, in any order and any number of times, so
they only ever move forward: the newest refund report wins, and a confirmed email stays
confirmed (as on the saga itself).
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID, uuid4

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitQueue
from pydantic import JsonValue, ValidationError

from bitloot_contracts.customer import CustomerStatus, customer_status_of_order
from bitloot_contracts.events import (
    DeliveryCompleted,
    OrderDelayed,
    OrderState,
    OrderStatusChanged,
    RefundStatus,
    RefundStatusChanged,
)
from bitloot_contracts.topics import (
    DELIVERY_COMPLETED,
    FULFILLMENT,
    ORDER_DELAYED,
    ORDER_STATUS_CHANGED,
    REFUND_STATUS_CHANGED,
)
from bitloot_runtime.dead_letters import summarize
from bitloot_runtime.service import ServiceRuntime

logger = logging.getLogger(__name__)

LiveEvent = OrderStatusChanged | RefundStatusChanged | DeliveryCompleted | OrderDelayed
_LIVE_TOPICS: dict[str, type[LiveEvent]] = {
    ORDER_STATUS_CHANGED: OrderStatusChanged,
    REFUND_STATUS_CHANGED: RefundStatusChanged,
    DELIVERY_COMPLETED: DeliveryCompleted,
    # Bought, but Kinguin is late (a preorder or a slow order): the saga's state does
    # not change, so its status event does not say so.
    ORDER_DELAYED: OrderDelayed,
}


@dataclass(frozen=True)
class RefundView:
    """The order's refund as the customer may see it: no address, no token, no note."""

    status: RefundStatus
    at: datetime
    amount: Decimal
    currency: str
    transaction_id: str | None

    @classmethod
    def of(cls, change: RefundStatusChanged) -> "RefundView":
        return cls(
            change.status, change.occurred_at, change.amount, change.currency, change.transaction_id
        )

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "status": self.status,
            # One spelling whether it came from the bus or from a NUMERIC column.
            "amount": format(self.amount.normalize(), "f"),
            "currency": self.currency,
            "transaction_id": self.transaction_id,
        }


@dataclass(frozen=True)
class DelayView:
    """Why the keys take long: a preorder (released on `release_date`, if Kinguin said),
    or Kinguin still processing a bought order past its deadline."""

    is_preorder: bool
    release_date: date | None

    def as_json(self) -> dict[str, JsonValue]:
        released = self.release_date.isoformat() if self.release_date else None
        return {"is_preorder": self.is_preorder, "release_date": released}


@dataclass(frozen=True)
class LiveView:
    """What a socket knows of its order: the saga's state, the refund, the key email, and
    why the keys are late, if they are."""

    state: OrderState | None = None
    refund: RefundView | None = None
    email_sent: bool | None = None
    delay: DelayView | None = None

    @property
    def customer_status(self) -> CustomerStatus | None:
        return customer_status_of_order(
            self.state,
            None if self.refund is None else self.refund.status,
            email_confirmed=self.email_sent is not False,
        )

    def with_facts(self, refund: RefundView | None, email_sent: bool | None) -> "LiveView":
        """This view, told a refund report and an email outcome (stored or live): the
        newer refund report wins, and a confirmed email stays confirmed."""
        if self.refund is not None and (refund is None or refund.at <= self.refund.at):
            refund = self.refund
        email = (
            None
            if email_sent is None and self.email_sent is None
            else bool(email_sent or self.email_sent)
        )
        return replace(self, refund=refund, email_sent=email)

    def frame_facts(self) -> dict[str, JsonValue]:
        """The fields every status frame carries besides the saga's own."""
        return {
            "customer_status": self.customer_status,
            "refund": None if self.refund is None else self.refund.as_json(),
            "email_confirmed": self.email_sent,
            "delay": None if self.delay is None else self.delay.as_json(),
        }


class LiveFeed(Protocol):
    """Where a hub's events come from: opened for the first socket, closed after the last."""

    async def open(self, hub: "StatusHub") -> None: ...

    async def close(self) -> None: ...


class StatusHub:
    """The sockets of this instance, by order: one queue of events per socket. The feed
    of live events is open while at least one socket listens, and only then."""

    def __init__(self, feed: LiveFeed) -> None:
        self.feed = feed
        self._listeners: dict[UUID, set[asyncio.Queue[LiveEvent]]] = {}
        self._sockets = 0
        self._open = False
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def listen(self, order_id: UUID) -> AsyncIterator[asyncio.Queue[LiveEvent]]:
        """The events of `order_id` from the moment this is entered (the feed is open by
        then), until the block ends."""
        changes: asyncio.Queue[LiveEvent] = asyncio.Queue()
        self._sockets += 1
        try:
            await self._follow_sockets()
        except BaseException:
            self._sockets -= 1
            raise
        self._listeners.setdefault(order_id, set()).add(changes)
        try:
            yield changes
        finally:
            listeners = self._listeners[order_id]
            listeners.discard(changes)
            if not listeners:
                del self._listeners[order_id]
            self._sockets -= 1
            # Closing finishes even if this socket's task is cancelled meanwhile.
            await asyncio.shield(self._follow_sockets_quietly())

    def publish(self, event: LiveEvent) -> None:
        for changes in self._listeners.get(event.order_id, ()):
            changes.put_nowait(event)

    async def _follow_sockets(self) -> None:
        """Open the feed if a socket listens, close it if none does (one change at a time:
        a socket opening while the last one closes finds the feed open again)."""
        async with self._lock:
            if self._sockets > 0 and not self._open:
                await self.feed.open(self)
                self._open = True
            elif self._sockets == 0 and self._open:
                self._open = False
                await self.feed.close()

    async def _follow_sockets_quietly(self) -> None:
        try:
            await self._follow_sockets()
        except Exception as exc:
            # The broker away: an exclusive queue goes with the connection anyway.
            logger.warning("live queue not deleted", extra={"error": summarize(exc)})


class LiveQueue:
    """This instance's own queue (exclusive, deleted with its connection) bound to the live
    topics on `runtime.connection`, declared for the first socket, deleted after the last:
    while no socket is open the instance consumes nothing of them. Messages are taken
    without acknowledgement: a lost live update is replaced by the next one or a reconnect.
    On a robust connection the queue, its bindings and its consumer come back after a
    reconnect."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self._runtime = runtime
        self.name = f"{runtime.topology.prefix}{FULFILLMENT}.live.{uuid4().hex}"
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None

    async def open(self, hub: StatusHub) -> None:
        connection = self._runtime.connection
        if connection is None:
            raise RuntimeError("the service is not connected to the broker")
        if self._channel is None or self._channel.is_closed:
            self._channel = await connection.channel()
        queue = await self._channel.declare_queue(self.name, exclusive=True, auto_delete=True)
        exchange = self._runtime.topology.exchange.name
        for topic in _LIVE_TOPICS:
            await queue.bind(exchange, routing_key=topic)
        self._queue = queue
        self._consumer_tag = await queue.consume(_pusher(hub), no_ack=True)

    async def close(self) -> None:
        queue, tag = self._queue, self._consumer_tag
        self._queue = self._consumer_tag = None
        if queue is None:
            return
        if tag is not None:
            await queue.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)


class InProcessFeed:
    """The one-process demo's feed: FastStream's in-memory broker, subscribed at build
    time (nothing to bind or delete on a bus that lives in this process)."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self._runtime = runtime

    def subscribe(self, hub: StatusHub) -> None:
        """Subscribe `hub` to the live topics; call before the runtime starts."""
        instance, topology = uuid4().hex, self._runtime.topology
        for topic in _LIVE_TOPICS:
            name = f"{topology.prefix}{FULFILLMENT}.live.{instance}.{topic}"
            queue = RabbitQueue(name, routing_key=topic)
            self._runtime.broker.subscriber(
                queue, topology.exchange, ack_policy=AckPolicy.ACK_FIRST, no_reply=True
            )(_in_process_pusher(hub))

    async def open(self, hub: StatusHub) -> None:
        pass

    async def close(self) -> None:
        pass


def live_hub(runtime: ServiceRuntime) -> StatusHub:
    """The hub of this instance, fed by its own queue on a real broker, by FastStream's
    subscribers on the in-memory one; call before the runtime starts."""
    if not runtime.in_memory:
        return StatusHub(LiveQueue(runtime))
    in_process = InProcessFeed(runtime)
    hub = StatusHub(in_process)
    in_process.subscribe(hub)
    return hub


def _event_of(topic: str | None, body: bytes) -> LiveEvent | None:
    model = _LIVE_TOPICS.get(topic or "")
    if model is None:
        logger.warning("event of another topic ignored by the live view", extra={"topic": topic})
        return None
    try:
        return model.model_validate_json(body)
    except ValidationError:
        logger.warning("unreadable event ignored by the live view", extra={"topic": topic})
        return None


def _pusher(hub: StatusHub) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
    async def on_event(message: AbstractIncomingMessage) -> None:
        if (event := _event_of(message.routing_key, message.body)) is not None:
            hub.publish(event)

    return on_event


def _in_process_pusher(hub: StatusHub) -> Callable[[RabbitMessage], Awaitable[None]]:
    async def on_event(message: RabbitMessage) -> None:
        raw = message.raw_message
        if (event := _event_of(raw.routing_key, raw.body)) is not None:
            hub.publish(event)

    return on_event
