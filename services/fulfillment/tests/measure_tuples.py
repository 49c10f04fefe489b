"""Database work per order in fulfillment (not collected by default; run it by name):

    .venv/bin/pytest services/fulfillment/tests/measure_tuples.py -q -s -p no:cacheprovider

Drives `ORDERS` orders through the happy path on one real instance, as the producers
would (payment.finished, reservation.created, the completed webhook, keys.delivered,
delivery.completed), waits until every one is fulfilled and its events are relayed, and
prints the deltas of `pg_stat_database` (transactions, tuples returned and fetched) and
of `pg_stat_user_tables` / `pg_stat_user_indexes` per order, so a scan shows at once.
"""

import asyncio
import json
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage
from fulfillment_support import Instances, completed, payment, publish, reported, reserved
from sqlalchemy import event

from bitloot_contracts.events import (
    Event,
    KeysDelivered,
    SealedKeys,
)
from bitloot_contracts.topics import KEYS_REQUESTED as KEYS
from bitloot_contracts.topics import ORDER_STATUS_CHANGED
from bitloot_runtime.db import asyncpg_dsn
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import eventually

ORDERS = int(os.environ.get("MEASURE_ORDERS", "200"))
# Orders in flight at once, each taken through its steps in turn; 0: every order a step
# at a time (phases).
TRICKLE = int(os.environ.get("MEASURE_TRICKLE", "8"))
# e.g. "(id) WHERE published_at IS NULL": the relay's index to measure instead.
OUTBOX_INDEX = os.environ.get("MEASURE_OUTBOX_INDEX", "")
SEALED = SealedKeys(suite="s", recipient_key_id="d1", enc="ZW5j", ciphertext="Y2lwaGVy")
DATABASE = """SELECT xact_commit + xact_rollback AS xacts, tup_returned, tup_fetched,
    tup_inserted, tup_updated, tup_deleted FROM pg_stat_database
    WHERE datname = current_database()"""
TABLES = """SELECT relname, coalesce(seq_scan, 0) AS seq_scan, coalesce(seq_tup_read, 0) AS
    seq_tup_read, coalesce(idx_scan, 0) AS idx_scan, coalesce(idx_tup_fetch, 0) AS idx_tup_fetch
    FROM pg_stat_user_tables"""
INDEXES = """SELECT indexrelname, idx_scan, idx_tup_read, idx_tup_fetch FROM pg_stat_user_indexes"""


async def _snapshot(dsn: str) -> dict[str, Any]:
    await asyncio.sleep(1.5)  # backends flush their statistics within a second of idling
    connection = await asyncpg.connect(dsn)
    try:
        database = dict(await connection.fetchrow(DATABASE) or {})
        tables = {r["relname"]: dict(r) for r in await connection.fetch(TABLES)}
        indexes = {r["indexrelname"]: dict(r) for r in await connection.fetch(INDEXES)}
    finally:
        await connection.close()
    return {"database": database, "tables": tables, "indexes": indexes}


def _delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, float]:
    return {
        key: (value - before.get(key, 0)) / ORDERS
        for key, value in after.items()
        if isinstance(value, int)
    }


async def _all(runtime: ServiceRuntime, events: Callable[[UUID], Event], ids: list[UUID]) -> None:
    await asyncio.gather(*(publish(runtime, events(order_id)) for order_id in ids))


class Watcher:
    """The order.status_changed events relayed so far, by status and by order, and the
    keys.requested ones (watched on the bus, so that waiting adds no query to the
    figures). The saga announces reserved and delivering on no topic: the steps leading
    there are waited for with the next step that publishes."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.reached_by: dict[tuple[str, str], asyncio.Event] = {}

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        change = json.loads(message.body)
        reached = change["status"] if message.routing_key == ORDER_STATUS_CHANGED else KEYS
        self.seen[reached] += 1
        self._event(change["order_id"], reached).set()

    def _event(self, order_id: str, state: str) -> asyncio.Event:
        return self.reached_by.setdefault((order_id, state), asyncio.Event())

    def reached(self, state: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return self.seen[state] >= ORDERS

        return check

    async def order_reached(self, order_id: UUID, state: str) -> None:
        async with asyncio.timeout(60):
            await self._event(str(order_id), state).wait()


async def _trickle(
    runtime: ServiceRuntime,
    watcher: Watcher,
    steps: list[tuple[Callable[[UUID], Event], str | None]],
    ids: list[UUID],
) -> None:
    """Each order through its steps one after the other, `TRICKLE` orders at a time (as
    orders flow through the real pipeline, rather than in phases)."""
    pending = list(ids)

    async def worker() -> None:
        while pending:
            order_id = pending.pop()
            for events, state in steps:
                await publish(runtime, events(order_id))
                if state is not None:
                    await watcher.order_reached(order_id, state)

    await asyncio.gather(*(worker() for _ in range(TRICKLE)))


async def test_measure_database_work_per_order(instances: Instances) -> None:
    runtime, _ = await instances.start(timer_sweep_interval=1.0, outbox_poll_interval=1.0)
    dsn = asyncpg_dsn(runtime.settings.database_url)
    if OUTBOX_INDEX:  # try another index for the relay's query (the runtime's table)
        connection = await asyncpg.connect(dsn)
        await connection.execute("DROP INDEX ix_outbox_unpublished")
        await connection.execute(f"CREATE INDEX ix_outbox_unpublished ON outbox {OUTBOX_INDEX}")
        await connection.close()
    ids = [uuid4() for _ in range(ORDERS)]
    # What each step is waited for by (None: the next step's wait covers it).
    steps: list[tuple[Callable[[UUID], Event], str | None]] = [
        (payment, "reserving"),
        (lambda o: reserved(o, f"K-{o}"), None),
        (lambda o: reported(o, f"K-{o}"), KEYS),
        (
            lambda o: KeysDelivered(
                order_id=o,
                kinguin_order_id=f"K-{o}",
                customer_email="buyer@example.com",
                key_count=1,
                sealed=SEALED,
            ),
            None,
        ),
        (completed, "fulfilled"),
    ]
    statements: Counter[str] = Counter()

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        words = statement.split(None, 2)
        kind = " ".join(words[:2]) if words[0] in ("WITH", "SELECT") else words[0]
        statements[kind] += 1

    watcher = Watcher()
    connection = await aio_pika.connect(runtime.settings.amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(runtime.topology.exchange.name, routing_key=ORDER_STATUS_CHANGED)
        await queue.bind(runtime.topology.exchange.name, routing_key=KEYS)
        await queue.consume(watcher.on_message, no_ack=True)
        before = await _snapshot(dsn)
        event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
        if TRICKLE:
            await _trickle(runtime, watcher, steps, ids)
        else:
            for events, state in steps:
                await _all(runtime, events, ids)
                if state is not None:
                    assert await eventually(watcher.reached(state), timeout=120), state
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
        after = await _snapshot(dsn)
    finally:
        await connection.close()
    print(f"\n{ORDERS} orders; per order:")
    print("  database", _delta(after["database"], before["database"]))
    print("  statements through the engine (BEGIN/COMMIT not counted)", _delta(statements, {}))
    for name, row in sorted(after["tables"].items()):
        print(f"  table {name}", _delta(row, before["tables"].get(name, {})))
    for name, row in sorted(after["indexes"].items()):
        print(f"  index {name}", _delta(row, before["indexes"].get(name, {})))
