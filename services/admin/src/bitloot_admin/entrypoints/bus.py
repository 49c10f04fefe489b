"""What the admin takes from the bus: a refund's story, projected (`handlers.projection`),
and two topics no service consumes, drained unread.

An order's timeline is read from the services that made it (`handlers.orders`); the
admin keeps a queue for `payment.status_changed` and `order.fulfilled` only so that their
publishes (always `mandatory`) are routable. Those messages are taken without an ack and
without a transaction: what they say is already in payments' and fulfillment's own tables.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aio_pika.abc import AbstractIncomingMessage
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitMessage, RabbitQueue

from bitloot_admin.handlers.projection import ProjectActivity
from bitloot_contracts import topics
from bitloot_contracts.events import KeysRevoked, RefundClaimLinkRequested, RefundStatusChanged
from bitloot_runtime.consumer import Route
from bitloot_runtime.service import ServiceRuntime

logger = logging.getLogger(__name__)

# Told by the admin's queue of each, read by no one: the facts live in the publishers.
DRAINED = (topics.PAYMENT_STATUS_CHANGED, topics.ORDER_FULFILLED)
# Queues an older admin projected from; nothing binds them now, so they are deleted.
RETIRED = (topics.ORDER_STATUS_CHANGED, topics.ORDER_FAILED)


def subscribe(runtime: ServiceRuntime) -> None:
    """Register every admin handler on its queue, and the drain of the others."""
    project = ProjectActivity()
    runtime.subscribe(Route(topics.KEYS_REVOKED, KeysRevoked, project))
    runtime.subscribe(Route(topics.REFUND_STATUS_CHANGED, RefundStatusChanged, project))
    told = RefundClaimLinkRequested
    runtime.subscribe(Route(topics.REFUND_CLAIM_LINK_REQUESTED, told, project))
    if runtime.in_memory:
        _drain_in_memory(runtime)
    else:
        runtime.add_background("drain", lambda: _drain(runtime))


async def _drain(runtime: ServiceRuntime) -> None:
    """Consume the drained queues without acks until cancelled (at stop); the channel is
    robust, so its consumers come back after a reconnect."""
    connection = runtime.connection
    if connection is None:
        raise RuntimeError("the drain starts after the runtime connected")
    channel = await connection.channel()
    try:
        for topic in RETIRED:
            await channel.queue_delete(runtime.topology.queue_name(topics.ADMIN, topic))
        for topic in DRAINED:
            name = runtime.topology.queue_name(topics.ADMIN, topic)
            queue = await channel.get_queue(name)
            await queue.consume(_counter(runtime, name), no_ack=True)
        logger.info("draining unread", extra={"topics": list(DRAINED)})
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await channel.close()


def _counter(
    runtime: ServiceRuntime, queue: str
) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
    drained = runtime.metrics.consumed.labels(queue=queue, outcome="drained")

    async def on_message(_message: AbstractIncomingMessage) -> None:
        drained.inc()

    return on_message


def _drain_in_memory(runtime: ServiceRuntime) -> None:
    """The in-memory broker (the one-process demo) refuses a publish nobody subscribes to:
    subscribe to the drained topics and drop what comes."""
    for topic in DRAINED:
        queue = RabbitQueue(
            runtime.topology.queue_name(topics.ADMIN, topic), routing_key=topic, declare=False
        )
        runtime.broker.subscriber(
            queue, runtime.topology.exchange, ack_policy=AckPolicy.ACK_FIRST, no_reply=True
        )(_ignore)


async def _ignore(_message: RabbitMessage) -> None:
    return None
