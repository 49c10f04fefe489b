"""RabbitMQ queue depths and consumer counts without the management plugin: a passive
declare of each queue answers both, and creates nothing."""

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

import aio_pika
from aio_pika.exceptions import AMQPError, ChannelClosed


@dataclass(frozen=True)
class QueueDepth:
    """`messages` ready in `name` and its `consumers`; `missing` if it is not declared."""

    name: str
    messages: int | None
    consumers: int | None
    missing: bool = False


async def depths(amqp_url: str, names: Iterable[str], timeout: float) -> list[QueueDepth]:
    """Each queue's depth, asked over one connection; raises if the broker is unreachable."""
    connection = await asyncio.wait_for(aio_pika.connect(amqp_url), timeout)
    try:
        return [await _depth(connection, name, timeout) for name in names]
    finally:
        await connection.close()


async def _depth(
    connection: aio_pika.abc.AbstractConnection, name: str, timeout: float
) -> QueueDepth:
    # A refused passive declare closes its channel: one channel per queue.
    channel = await connection.channel()
    try:
        queue = await asyncio.wait_for(channel.declare_queue(name, passive=True), timeout)
    except ChannelClosed:
        return QueueDepth(name, None, None, missing=True)
    declared = queue.declaration_result
    with contextlib.suppress(AMQPError):
        await channel.close()
    return QueueDepth(name, declared.message_count, declared.consumer_count)
