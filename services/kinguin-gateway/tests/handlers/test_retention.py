"""Retention of the webhook log on the real database: unauthenticated calls go after the
short period, authenticated ones after the long one and only once their reservation has
ended; each batch is audited in its own transaction; a dry run changes nothing; a sweep
cut short leaves what it did audited and the next one finishes."""

import asyncio
import os
import sys
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bitloot_kinguin_gateway.adapters.orm import (
    kinguin_orders,
    metadata,
    reservations,
    retention_log,
    webhook_log,
)
from bitloot_kinguin_gateway.adapters.retention import audit as retention_audit
from bitloot_kinguin_gateway.adapters.retention import webhook_rules
from bitloot_kinguin_gateway.migrations import VERSIONS
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.retention import RetentionSweep, Swept
from bitloot_runtime.sealing import generate_key_pair
from bitloot_testing.retention import (
    DAY,
    LONG,
    POLICY,
    SHORT,
    assert_batches_use,
    engine_fixture,
    sweep_on,
)

engine = engine_fixture(metadata, [VERSIONS])


def sweep_of(engine: AsyncEngine, batch_size: int = 500) -> RetentionSweep:
    return sweep_on(engine, webhook_rules(POLICY), retention_audit(), batch_size)


async def reservation(
    connection: AsyncConnection, state: str, status: str | None = None, sealed: bool = False
) -> UUID:
    order_id = uuid4()
    await connection.execute(
        insert(reservations).values(
            order_id=order_id, state=state, lines=[], kinguin_status=status,
            keys_sealed_at=func.now() if sealed else None,
        )
    )  # fmt: skip
    await connection.execute(
        insert(kinguin_orders).values(external_id=str(order_id), order_id=order_id, attempt=1)
    )
    return order_id


async def call(
    connection: AsyncConnection,
    age: timedelta,
    *,
    authentic: bool = True,
    order_id: UUID | None = None,
    external_id: str | None = None,
) -> int:
    row_id = await connection.scalar(
        insert(webhook_log)
        .values(
            received_at=func.now() - age, event_name="order.status", raw_body=b"{}",
            headers={}, authenticated=authentic, order_id=order_id,
            order_external_id=external_id or (str(order_id) if order_id else None),
        )
        .returning(webhook_log.c.id)
    )  # fmt: skip
    assert row_id is not None
    return int(row_id)


async def remaining(engine: AsyncEngine) -> set[int]:
    async with engine.connect() as connection:
        return set((await connection.scalars(select(webhook_log.c.id))).all())


async def audited(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.sum(retention_log.c.rows))) or 0)


async def test_unauthenticated_calls_go_after_the_short_period(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        ended = await reservation(connection, "failed")
        await call(connection, SHORT + DAY, authentic=False)
        young = await call(connection, SHORT - DAY, authentic=False)
        authentic = await call(connection, SHORT + DAY, order_id=ended)
    report = await sweep_of(engine).sweep()
    assert [(s.rule, s.rows) for s in report] == [("unauthenticated", 1), ("authenticated", 0)]
    assert await remaining(engine) == {young, authentic}
    assert await audited(engine) == 1


async def test_authenticated_calls_go_after_the_long_period_once_their_reservation_ended(
    engine: AsyncEngine,
) -> None:
    old = LONG + DAY
    async with engine.begin() as connection:
        placing = await reservation(connection, "placing")
        processing = await reservation(connection, "placed", "processing")
        completed_unsealed = await reservation(connection, "placed", "completed")
        delivered = await reservation(connection, "placed", "completed", sealed=True)
        canceled = await reservation(connection, "placed", "canceled")
        failed = await reservation(connection, "failed")
        gone = {
            await call(connection, old, order_id=delivered),
            await call(connection, old, order_id=canceled),
            await call(connection, old, order_id=failed),
            await call(connection, old, external_id=str(failed)),
            await call(connection, old, external_id="never-ours"),
        }
        kept = {
            await call(connection, LONG - DAY, order_id=delivered),
            await call(connection, old, order_id=placing),
            await call(connection, old, order_id=processing),
            await call(connection, old, order_id=completed_unsealed),
            # News that came before its reservation was found: named by external id only.
            await call(connection, old, external_id=str(processing)),
        }
    report = await sweep_of(engine).sweep()
    assert await remaining(engine) == kept
    assert [(s.rule, s.rows) for s in report] == [
        ("unauthenticated", 0),
        ("authenticated", len(gone)),
    ]


async def test_a_dry_run_counts_and_changes_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        ids = {await call(connection, SHORT + DAY, authentic=False) for _ in range(3)}
    report = await sweep_of(engine, batch_size=2).sweep(dry_run=True)
    assert [(s.rule, s.rows) for s in report] == [("unauthenticated", 3), ("authenticated", 0)]
    assert (await remaining(engine), await audited(engine)) == (ids, 0)


async def test_a_sweep_cut_short_leaves_its_batches_audited_and_the_next_finishes(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        for _ in range(5):
            await call(connection, SHORT + DAY, authentic=False)
    real_audit = retention_audit()

    async def failing_second_time(connection: AsyncConnection, swept: Swept) -> None:
        await real_audit(connection, swept)
        if await audited(engine) == 2:  # the first batch is committed
            raise ConnectionError("database went away")

    broken = RetentionSweep(
        unit_of_work=lambda: UnitOfWork(engine),
        rules=webhook_rules(POLICY),
        audit=failing_second_time,
        batch_size=2,
    )
    with pytest.raises(ConnectionError):
        await broken.sweep()
    assert (len(await remaining(engine)), await audited(engine)) == (3, 2)
    await sweep_of(engine, batch_size=2).sweep()
    assert (len(await remaining(engine)), await audited(engine)) == (0, 5)


async def test_the_retention_command_deletes_and_prints_what_it_did(
    engine: AsyncEngine, database_url: str
) -> None:
    async with engine.begin() as connection:
        await call(connection, SHORT + DAY, authentic=False)
    env = {
        **os.environ,
        "KINGUIN_GATEWAY_DATABASE_URL": database_url,
        "KINGUIN_GATEWAY_AMQP_URL": "amqp://unused@127.0.0.1:1/",
        "KINGUIN_GATEWAY_INTERNAL_TOKEN": "t" * 32,
        "KINGUIN_GATEWAY_KINGUIN_API_URL": "https://kinguin.test",
        "KINGUIN_GATEWAY_KINGUIN_API_KEY": "unused",
        "KINGUIN_GATEWAY_WEBHOOK_SECRET": "unused",
        "KINGUIN_GATEWAY_DELIVERY_PUBLIC_KEY": generate_key_pair()[1],
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitloot_kinguin_gateway", "retention",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert [line.split(" older than ")[0] for line in stdout.decode().splitlines()] == [
        "deleted 1 webhook_log rows (unauthenticated)",
        "deleted 0 webhook_log rows (authenticated)",
    ]
    assert (await remaining(engine), await audited(engine)) == (set(), 1)


async def test_every_batch_finds_its_rows_through_its_index_not_a_scan(engine: AsyncEngine) -> None:
    await assert_batches_use(
        engine, webhook_rules(POLICY), {"webhook_log": "ix_webhook_log_retention"}
    )
