"""Live order status across instances: every instance hears every status change.

The saga's `order.status_changed` events reach the shared `fulfillment.*` queues only
once, on whichever instance consumes them; a customer's WebSocket may be held by
another. So each instance also binds queues of its own (exclusive, auto-deleted with
its connection) to `order.status_changed`, and to the two other facts the customer
status depends on, `refund.status_changed` and `delivery.completed` (whether the key
email was confirmed), and pushes each to the sockets it holds for that order. This is a
live view, not a record: a change missed while no socket listens is not replayed (a new
socket is sent the stored state on connect).

What a socket knows of its order is a `LiveView`. Its refund and email parts come both
from the stored saga and from these events, in any order and any number of times, so
they only ever move forward: the newest refund report wins, and a confirmed email stays
confirmed (as on the saga itself).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitQueue
from pydantic import ValidationError

from bitloot_contracts.customer import CustomerStatus, customer_status_of_order
from bitloot_contracts.events import (
    DeliveryCompleted,
    OrderState,
    OrderStatusChanged,
    RefundStatus,
    RefundStatusChanged,
)
from bitloot_contracts.topics import (
    DELIVERY_COMPLETED,
    FULFILLMENT,
    ORDER_STATUS_CHANGED,
    REFUND_STATUS_CHANGED,
)
from bitloot_runtime.service import ServiceRuntime

logger = logging.getLogger(__name__)

LiveEvent = OrderStatusChanged | RefundStatusChanged | DeliveryCompleted
_LIVE_TOPICS: dict[str, type[LiveEvent]] = {
    ORDER_STATUS_CHANGED: OrderStatusChanged,
    REFUND_STATUS_CHANGED: RefundStatusChanged,
    DELIVERY_COMPLETED: DeliveryCompleted,
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

    def as_json(self) -> dict[str, str | None]:
        return {
            "status": self.status,
            # One spelling whether it came from the bus or from a NUMERIC column.
            "amount": format(self.amount.normalize(), "f"),
            "currency": self.currency,
            "transaction_id": self.transaction_id,
        }


@dataclass(frozen=True)
class LiveView:
    """What a socket knows of its order: the saga's state, the refund, the key email."""

    state: OrderState | None = None
    refund: RefundView | None = None
    email_sent: bool | None = None

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

    def frame_facts(self) -> dict[str, Any]:
        """The fields every status frame carries besides the saga's own."""
        return {
            "customer_status": self.customer_status,
            "refund": None if self.refund is None else self.refund.as_json(),
            "email_confirmed": self.email_sent,
        }


class StatusHub:
    """The sockets of this instance, by order: one queue of events per socket."""

    def __init__(self) -> None:
        self._listeners: dict[UUID, set[asyncio.Queue[LiveEvent]]] = {}

    @contextmanager
    def listen(self, order_id: UUID) -> Iterator[asyncio.Queue[LiveEvent]]:
        """The events of `order_id` from now on, until the block ends."""
        changes: asyncio.Queue[LiveEvent] = asyncio.Queue()
        self._listeners.setdefault(order_id, set()).add(changes)
        try:
            yield changes
        finally:
            listeners = self._listeners[order_id]
            listeners.discard(changes)
            if not listeners:
                del self._listeners[order_id]

    def publish(self, event: LiveEvent) -> None:
        for changes in self._listeners.get(event.order_id, ()):
            changes.put_nowait(event)


def subscribe_live(runtime: ServiceRuntime, hub: StatusHub) -> None:
    """Bind this instance's own queues to the live topics; call before start."""
    instance = uuid4().hex
    for topic, model in _LIVE_TOPICS.items():
        name = f"{runtime.topology.prefix}{FULFILLMENT}.live.{instance}.{topic}"
        queue = RabbitQueue(name, exclusive=True, auto_delete=True, routing_key=topic)
        # Acked on receipt: a lost live update is replaced by the next one or a reconnect.
        runtime.broker.subscriber(
            queue, runtime.topology.exchange, ack_policy=AckPolicy.ACK_FIRST, no_reply=True
        )(_pusher(hub, topic, model))


def _pusher(
    hub: StatusHub, topic: str, model: type[LiveEvent]
) -> Callable[[RabbitMessage], Awaitable[None]]:
    async def on_event(message: RabbitMessage) -> None:
        try:
            event = model.model_validate_json(message.raw_message.body)
        except ValidationError:
            logger.warning("unreadable event ignored by the live view", extra={"topic": topic})
            return
        hub.publish(event)

    return on_event
