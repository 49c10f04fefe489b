"""The null pipeline: the real flow's hops with nothing but the cost every hop must pay.

payment.finished → reservation.requested → reservation.created → kinguin.webhook →
keys.requested → keys.delivered → delivery.completed → order.fulfilled: seven hops, each
a consumer task that takes a message, commits one row (asyncpg), publishes the next event
persistent and confirmed (aio-pika), then acks. One process, its own exchange, queues and
database. What the services do beyond this is their own work; this is the machine's limit.

    python -m bench.null_pipeline AMQP_URL DSN PREFIX   (ready when it prints "ready")
"""

import asyncio
import sys
from collections.abc import Awaitable, Callable

import aio_pika
import asyncpg
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

from bitloot_contracts.topics import (
    DELIVERY_COMPLETED,
    KEYS_DELIVERED,
    KEYS_REQUESTED,
    KINGUIN_WEBHOOK,
    ORDER_FULFILLED,
    PAYMENT_FINISHED,
    RESERVATION_CREATED,
    RESERVATION_REQUESTED,
)

CHAIN = (
    PAYMENT_FINISHED,
    RESERVATION_REQUESTED,
    RESERVATION_CREATED,
    KINGUIN_WEBHOOK,
    KEYS_REQUESTED,
    KEYS_DELIVERED,
    DELIVERY_COMPLETED,
    ORDER_FULFILLED,
)
PREFETCH = 20  # the services' default prefetch


def exchange_name(prefix: str) -> str:
    return f"{prefix}null.events"


def queue_names(prefix: str) -> list[str]:
    return [f"{prefix}null.{topic}" for topic in CHAIN[:-1]]


def hop(
    pool: asyncpg.Pool, exchange: AbstractExchange, topic: str, next_topic: str
) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
    async def handle(message: AbstractIncomingMessage) -> None:
        async with pool.acquire() as connection:
            await connection.execute(
                "INSERT INTO hops (message_id, topic) VALUES ($1, $2)", message.message_id, topic
            )
        forwarded = aio_pika.Message(
            message.body,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=f"{message.message_id}.{next_topic}",
            correlation_id=message.correlation_id,
            content_type="application/json",
            headers=dict(message.headers),
        )
        await exchange.publish(forwarded, routing_key=next_topic, mandatory=True)
        await message.ack()

    return handle


async def main(amqp_url: str, dsn: str, prefix: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS hops (id bigserial PRIMARY KEY, message_id text NOT NULL,"
        " topic text NOT NULL, at timestamptz NOT NULL DEFAULT now())"
    )
    connection = await aio_pika.connect_robust(amqp_url)
    exchange_channel = await connection.channel(publisher_confirms=True)
    exchange = await exchange_channel.declare_exchange(
        exchange_name(prefix), aio_pika.ExchangeType.TOPIC, durable=True
    )
    for topic, next_topic, name in zip(CHAIN, CHAIN[1:], queue_names(prefix), strict=False):
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=PREFETCH)
        queue = await channel.declare_queue(
            name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange, routing_key=topic)
        await queue.consume(hop(pool, exchange, topic, next_topic))
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
