"""Live order status across instances: every instance hears every status change.

The saga's `order.status_changed` events reach the shared `fulfillment.*` queues only
once, on whichever instance consumes them; a customer's WebSocket may be held by
another. So each instance also binds a queue of its own (exclusive, auto-deleted with
its connection) to `order.status_changed` and pushes each change to the sockets it
holds for that order. This is a live view, not a record: a change missed while no
socket listens is not replayed (a new socket is sent the current state on connect).
"""

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID, uuid4

from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitQueue
from pydantic import ValidationError

from bitloot_contracts.events import OrderStatusChanged
from bitloot_contracts.topics import FULFILLMENT, ORDER_STATUS_CHANGED
from bitloot_runtime.service import ServiceRuntime

logger = logging.getLogger(__name__)


class StatusHub:
    """The sockets of this instance, by order: one queue of changes per socket."""

    def __init__(self) -> None:
        self._listeners: dict[UUID, set[asyncio.Queue[OrderStatusChanged]]] = {}

    @contextmanager
    def listen(self, order_id: UUID) -> Iterator[asyncio.Queue[OrderStatusChanged]]:
        """The changes of `order_id` from now on, until the block ends."""
        changes: asyncio.Queue[OrderStatusChanged] = asyncio.Queue()
        self._listeners.setdefault(order_id, set()).add(changes)
        try:
            yield changes
        finally:
            listeners = self._listeners[order_id]
            listeners.discard(changes)
            if not listeners:
                del self._listeners[order_id]

    def publish(self, change: OrderStatusChanged) -> None:
        for changes in self._listeners.get(change.order_id, ()):
            changes.put_nowait(change)


def subscribe_live(runtime: ServiceRuntime, hub: StatusHub) -> None:
    """Bind this instance's own queue to `order.status_changed`; call before start."""
    name = f"{runtime.topology.prefix}{FULFILLMENT}.live.{uuid4().hex}"
    queue = RabbitQueue(name, exclusive=True, auto_delete=True, routing_key=ORDER_STATUS_CHANGED)

    async def on_change(message: RabbitMessage) -> None:
        try:
            change = OrderStatusChanged.model_validate_json(message.raw_message.body)
        except ValidationError:
            logger.warning("unreadable order.status_changed ignored by the live view")
            return
        hub.publish(change)

    # Acked on receipt: a lost live update is replaced by the next one or a reconnect.
    runtime.broker.subscriber(
        queue, runtime.topology.exchange, ack_policy=AckPolicy.ACK_FIRST, no_reply=True
    )(on_change)
