"""Watching the bus from a test: a spy queue bound to `#` on an exchange."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aio_pika
from aio_pika.abc import AbstractIncomingMessage


class Spy:
    """A queue bound to `#` on the exchange: every event published, in order."""

    def __init__(self, queue: aio_pika.abc.AbstractQueue) -> None:
        self._queue = queue

    async def collect(self, expected: int, timeout: float = 10.0) -> list[AbstractIncomingMessage]:
        """Wait until `expected` messages arrived (or the timeout), then a little longer
        so that a surplus (a duplicate) would be seen too."""
        messages: list[AbstractIncomingMessage] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = await self._queue.get(fail=False, no_ack=True)
            if message is None:
                if len(messages) >= expected:
                    await asyncio.sleep(0.5)
                    if (extra := await self._queue.get(fail=False, no_ack=True)) is None:
                        return messages
                    messages.append(extra)
                    continue
                await asyncio.sleep(0.05)
                continue
            messages.append(message)
        return messages


@asynccontextmanager
async def spy_on(amqp_url: str, prefix: str, exchange: str) -> AsyncIterator[Spy]:
    """A `Spy` on `exchange` (declared if missing), through the queue ``<prefix>spy``; the
    queue is exclusive, so it disappears with the connection when the context ends."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        bus = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"{prefix}spy", exclusive=True)
        await queue.bind(bus, routing_key="#")
        yield Spy(queue)
    finally:
        await connection.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> bool:
    """Whether `check` comes true within `timeout` seconds, polled every 50 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return await check()
