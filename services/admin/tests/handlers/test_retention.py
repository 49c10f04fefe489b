"""Retention of the admin's audit and order activity on the real database: rows older
than the period go, younger ones stay, each batch removed is itself audited in the same
transaction; a dry run changes nothing; a sweep cut short leaves what it did audited and
the next one finishes."""

import asyncio
import os
import sys
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bitloot_admin.adapters.audit import record_swept
from bitloot_admin.adapters.orm import admin_audit, metadata, order_activity
from bitloot_admin.adapters.retention import audit_rules
from bitloot_admin.domain.retention import ACTION, audit_retention
from bitloot_admin.migrations import VERSIONS
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.retention import Audit, RetentionSweep, Swept
from bitloot_runtime.tokens import generate_key_pair
from bitloot_testing.retention import DAY, assert_batches_use, engine_fixture

PERIOD = 730 * DAY

engine = engine_fixture(metadata, [VERSIONS])


def sweep_of(
    engine: AsyncEngine, batch_size: int = 500, audit: Audit = record_swept
) -> RetentionSweep:
    return RetentionSweep(
        unit_of_work=lambda: UnitOfWork(engine),
        rules=audit_rules(audit_retention(730)),
        audit=audit,
        batch_size=batch_size,
    )


async def action(connection: AsyncConnection, age: timedelta) -> int:
    row_id = await connection.scalar(
        insert(admin_audit)
        .values(at=func.now() - age, username="ops", action="replay", target="x")
        .returning(admin_audit.c.id)
    )
    assert row_id is not None
    return int(row_id)


async def activity(connection: AsyncConnection, age: timedelta) -> None:
    await connection.execute(
        insert(order_activity).values(
            event_id=uuid4(), order_id=uuid4(), topic="refund.status_changed", status="sent",
            at=func.now() - age,
        )
    )  # fmt: skip


async def actions(engine: AsyncEngine) -> list[tuple[str, str | None, dict[str, object]]]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(admin_audit).order_by(admin_audit.c.id))
        return [(row.action, row.target, row.detail) for row in rows]


async def activities(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(order_activity)) or 0)


async def test_rows_past_the_period_go_and_each_batch_writes_its_own_audit_row(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        for _ in range(3):
            await action(connection, PERIOD + DAY)
            await activity(connection, PERIOD + DAY)
        await action(connection, PERIOD - DAY)
        await activity(connection, PERIOD - DAY)
    report = await sweep_of(engine, batch_size=2).sweep()
    assert [(s.table, s.rows) for s in report] == [("admin_audit", 3), ("order_activity", 3)]
    kept, *swept = await actions(engine)
    assert kept[0] == "replay"
    assert [(a, t, d["rows"]) for a, t, d in swept] == [
        (ACTION, "admin_audit", 2),
        (ACTION, "admin_audit", 1),
        (ACTION, "order_activity", 2),
        (ACTION, "order_activity", 1),
    ]
    cutoff = report[0].cutoff.isoformat(timespec="seconds")
    assert all(d["older_than"] == cutoff for _, _, d in swept)
    assert await activities(engine) == 1
    # The sweep's own rows are young: the next sweep keeps them.
    await sweep_of(engine).sweep()
    assert len(await actions(engine)) == 5


async def test_a_dry_run_counts_and_changes_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await action(connection, PERIOD + DAY)
        await activity(connection, PERIOD + DAY)
    report = await sweep_of(engine).sweep(dry_run=True)
    assert [(s.table, s.rows) for s in report] == [("admin_audit", 1), ("order_activity", 1)]
    assert (len(await actions(engine)), await activities(engine)) == (1, 1)


async def test_a_sweep_cut_short_leaves_its_batches_audited_and_the_next_finishes(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        for _ in range(5):
            await action(connection, PERIOD + DAY)
    calls = 0

    async def failing_second_time(connection: AsyncConnection, swept: Swept) -> None:
        nonlocal calls
        calls += 1
        await record_swept(connection, swept)
        if calls == 2:
            raise ConnectionError("database went away")

    with pytest.raises(ConnectionError):
        await sweep_of(engine, batch_size=2, audit=failing_second_time).sweep()
    assert [(a, d.get("rows")) for a, _, d in await actions(engine)] == [
        *[("replay", None)] * 3,
        (ACTION, 2),
    ]
    await sweep_of(engine, batch_size=2).sweep()
    assert [(a, d.get("rows")) for a, _, d in await actions(engine)] == [
        (ACTION, 2),
        (ACTION, 2),
        (ACTION, 1),
    ]


async def test_the_retention_command_dry_run_prints_and_changes_nothing(
    engine: AsyncEngine, database_url: str
) -> None:
    async with engine.begin() as connection:
        await action(connection, PERIOD + DAY)
    env = {
        **os.environ,
        "ADMIN_DATABASE_URL": database_url,
        "ADMIN_AMQP_URL": "amqp://unused@127.0.0.1:1/",
        "ADMIN_INTERNAL_TOKEN": "t" * 32,
        "ADMIN_SESSION_PRIVATE_KEY": generate_key_pair()[0],
        **{f"ADMIN_{name}_URL": "http://unused.test" for name in
           ("PAYMENTS", "KINGUIN_GATEWAY", "FULFILLMENT", "DELIVERY")},
    }  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bitloot_admin", "retention", "--dry-run",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert [line.split(" older than ")[0] for line in stdout.decode().splitlines()] == [
        "would delete 1 admin_audit rows (age)",
        "would delete 0 order_activity rows (age)",
    ]
    assert len(await actions(engine)) == 1


async def test_every_batch_finds_its_rows_through_its_index_not_a_scan(engine: AsyncEngine) -> None:
    await assert_batches_use(
        engine,
        audit_rules(audit_retention(730)),
        {"admin_audit": "admin_audit_at", "order_activity": "order_activity_at"},
    )
