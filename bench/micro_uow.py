"""Micro-benchmark of the unit of work and the outbox relay (issue #20, part A2).

CPU of this process (``time.process_time``; PostgreSQL's and RabbitMQ's own CPU is not
counted) per unit of work and per relayed row, on the real local PostgreSQL and RabbitMQ,
each figure next to its raw-asyncpg / raw-aio-pika baseline measured in the same run.

The unit of work has a consumer's shape: claim the message (inbox insert), read one row,
write one row, emit one event (outbox row, relay woken on commit), commit. Variants:

- ``orm-session``: that shape through an ORM ``AsyncSession``, as the runtime did before
  (statements built per call, a separate ``SELECT pg_notify``);
- ``runtime``: ``bitloot_runtime.db.UnitOfWork``, whatever it is at the checkout run;
- ``asyncpg``: the same statements prepared on a raw asyncpg connection (the floor).

The relay: ``OutboxRelay.relay_once`` publishing committed rows to a real exchange
(persistent, mandatory, confirmed) against raw asyncpg + aio-pika doing the same
(select for update skip locked, publish the batch with confirms awaited together, stamp).

    python -m bench.micro_uow [--units 2000] [--rows 2000] [--batch 100]

Uses a throwaway database and exchange (names end in the process id), removed at the end.
"""

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import ClassVar, Literal
from uuid import UUID, uuid4

import aio_pika
import asyncpg
from sqlalchemy import Column, MetaData, Table, Text, Uuid, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bitloot_contracts.events import Event
from bitloot_runtime.db import UnitOfWork, asyncpg_dsn, create_engine, migrate
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.outbox import OutboxRelay
from bitloot_runtime.publisher import BusPublisher, create_broker
from bitloot_runtime.tables import inbox, include_runtime_tables, outbox
from bitloot_runtime.topology import Topology, declare_topology

TOPIC = "micro.state_changed"
SERVICE = "microbench"
CHANNEL = "bitloot_outbox"

metadata = MetaData()
include_runtime_tables(metadata)
# The handler's own state: one row per order, read then written by each unit of work.
states = Table(
    "micro_states", metadata, Column("order_id", Uuid, primary_key=True), Column("status", Text)
)


class StateChanged(Event):
    topic: ClassVar[str] = TOPIC
    schema_version: Literal[1] = 1
    status: str


Unit = Callable[[UUID], Awaitable[None]]


async def cpu_per_call(unit: Unit, count: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call of `unit`, after a warm-up of a tenth as many."""
    for _ in range(max(count // 10, 20)):
        await unit(uuid4())
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        await unit(uuid4())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / count * 1e6, wall / count * 1e6


def orm_session_unit(engine: AsyncEngine) -> Unit:
    """The shape through an ORM session, as the runtime's UnitOfWork did before #20."""
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    async def unit(order_id: UUID) -> None:
        async with sessionmaker() as session:
            try:
                claim = (
                    pg_insert(inbox)
                    .values(consumer=SERVICE, message_id=str(uuid4()))
                    .on_conflict_do_nothing()
                    .returning(inbox.c.message_id)
                )
                assert (await session.execute(claim)).first() is not None
                await session.scalar(select(states.c.status).where(states.c.order_id == order_id))
                await session.execute(insert(states).values(order_id=order_id, status="made"))
                event = StateChanged(order_id=order_id, status="made")
                await session.execute(
                    insert(outbox).values(
                        event_id=event.event_id,
                        topic=event.topic,
                        order_id=event.order_id,
                        body=event.model_dump_json().encode(),
                        headers={"traceparent": "00-x"},
                    )
                )
                await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
                await session.commit()
            finally:
                await session.rollback()

    return unit


def runtime_unit(engine: AsyncEngine) -> Unit:
    """The shape through the runtime's UnitOfWork, as a consumer runs it (the handler's
    own statements built per call, as the services' repositories do)."""

    sessionmaker = async_sessionmaker(engine)  # what ServiceRuntime passes, before and after

    async def unit(order_id: UUID) -> None:
        async with UnitOfWork(sessionmaker) as uow:
            assert await uow.claim(SERVICE, str(uuid4()))
            await uow.session.scalar(select(states.c.status).where(states.c.order_id == order_id))
            await uow.session.execute(insert(states).values(order_id=order_id, status="made"))
            await uow.emit(StateChanged(order_id=order_id, status="made"))
            await uow.commit()

    return unit


async def asyncpg_unit(pool: asyncpg.Pool) -> Unit:
    """The shape on raw asyncpg, prepared statements (asyncpg's statement cache)."""
    claim = (
        "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING message_id"
    )
    read = "SELECT status FROM micro_states WHERE order_id = $1"
    write = "INSERT INTO micro_states (order_id, status) VALUES ($1, $2)"
    emit = (
        "INSERT INTO outbox (event_id, topic, order_id, body, headers) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING pg_notify('bitloot_outbox', '')"
    )

    async def unit(order_id: UUID) -> None:
        async with pool.acquire() as connection, connection.transaction():
            assert await connection.fetchval(claim, SERVICE, str(uuid4())) is not None
            await connection.fetchval(read, order_id)
            await connection.execute(write, order_id, "made")
            event = StateChanged(order_id=order_id, status="made")
            headers = json.dumps({"traceparent": "00-x"})
            body = event.model_dump_json().encode()
            await connection.fetchval(emit, event.event_id, TOPIC, order_id, body, headers)

    return unit


async def fill_outbox(engine: AsyncEngine, rows: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(outbox),
            [
                {
                    "event_id": (event := StateChanged(order_id=uuid4(), status="made")).event_id,
                    "topic": TOPIC,
                    "order_id": event.order_id,
                    "body": event.model_dump_json().encode(),
                    "headers": {"traceparent": "00-x"},
                }
                for _ in range(rows)
            ],
        )


async def relay_cpu(drain: Callable[[], Awaitable[int]], rows: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per row for `drain` to publish `rows` rows."""
    cpu, wall = time.process_time(), time.perf_counter()
    published = 0
    while (count := await drain()) > 0:
        published += count
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if published != rows:
        raise RuntimeError(f"relayed {published} rows, expected {rows}")
    return cpu / rows * 1e6, wall / rows * 1e6


def raw_relay(
    pool: asyncpg.Pool, exchange: aio_pika.abc.AbstractExchange, batch: int
) -> Callable[[], Awaitable[int]]:
    due = (
        "SELECT id, event_id, topic, order_id, body, headers FROM outbox "
        "WHERE published_at IS NULL AND next_attempt_at <= now() "
        "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"
    )
    stamp = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"

    async def drain() -> int:
        async with pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(due, batch)
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            row["body"],
                            message_id=str(row["event_id"]),
                            correlation_id=str(row["order_id"]),
                            headers=json.loads(row["headers"]),
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=row["topic"],
                        mandatory=True,
                    )
                    for row in rows
                )
            )
            if rows:
                await connection.execute(stamp, [row["id"] for row in rows])
        return len(rows)

    return drain


async def main(arguments: argparse.Namespace) -> None:
    suffix = str(os.getpid())
    url = f"{arguments.database}/bitloot_micro_uow_{suffix}"
    prefix = f"microuow{suffix}"
    await migrate(url, metadata, [])
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: states.create(sync, checkfirst=True))
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=2, max_size=4)
    topology = Topology(prefix)
    subscriptions = {SERVICE: (TOPIC,)}
    broker = create_broker(arguments.amqp, prefetch=10)
    amqp = await aio_pika.connect_robust(arguments.amqp)
    figures: dict[str, tuple[float, float]] = {}
    try:
        await broker.connect()
        await declare_topology(broker, topology, SERVICE, (), subscriptions)
        units = {
            "orm-session": orm_session_unit(engine),
            "runtime": runtime_unit(engine),
            "asyncpg": await asyncpg_unit(pool),
        }
        for name, unit in units.items():
            figures[f"unit of work: {name}"] = await cpu_per_call(unit, arguments.units)

        metrics = RuntimeMetrics(SERVICE)
        relay = OutboxRelay(
            engine=engine,
            database_url=url,
            publisher=BusPublisher(broker, topology, metrics),
            metrics=metrics,
            batch_size=arguments.batch,
        )
        while await relay.relay_once():  # what the units of work emitted
            pass
        await fill_outbox(engine, arguments.rows)
        figures["relayed row: runtime"] = await relay_cpu(relay.relay_once, arguments.rows)
        channel = await amqp.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(topology.exchange.name, ensure=False)
        await fill_outbox(engine, arguments.rows)
        figures["relayed row: asyncpg+aio-pika"] = await relay_cpu(
            raw_relay(pool, exchange, arguments.batch), arguments.rows
        )
    finally:
        with contextlib.suppress(Exception):
            channel = await amqp.channel()
            for name in topology.names(SERVICE, (), subscriptions):
                with contextlib.suppress(Exception):
                    await channel.queue_delete(name)
                with contextlib.suppress(Exception):
                    await channel.exchange_delete(name)
        await amqp.close()
        await broker.stop()
        await pool.close()
        await engine.dispose()
        admin = await asyncpg.connect(asyncpg_dsn(f"{arguments.database}/postgres"))
        await admin.execute(f'DROP DATABASE IF EXISTS "bitloot_micro_uow_{suffix}" WITH (FORCE)')
        await admin.close()

    print(f"{'':34} {'CPU µs':>8} {'wall µs':>8} {'CPU / floor':>11}")
    floors = {
        "unit of work": "unit of work: asyncpg",
        "relayed row": "relayed row: asyncpg+aio-pika",
    }
    for name, (cpu, wall) in figures.items():
        floor = figures[floors[name.split(":")[0]]][0]
        print(f"{name:34} {cpu:8.0f} {wall:8.0f} {cpu / floor:11.2f}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=2000, help="units of work per variant")
    parser.add_argument("--rows", type=int, default=2000, help="outbox rows per relay variant")
    parser.add_argument("--batch", type=int, default=100, help="relay batch size")
    parser.add_argument("--database", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = parse()
    if options.loop == "uvloop":
        import uvloop

        uvloop.run(main(options))
    else:
        asyncio.run(main(options))
