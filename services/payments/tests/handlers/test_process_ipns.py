"""The IPN processor: a transient failure is retried until the IPN applies, whatever it
takes; a defect repeated on every attempt is given up and flagged; the processor
outlives the database going away; and it gives way while an IPN is being answered."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
from payments_support import fetch, ipn, new_order, of_topic, order_row, results, send, watching
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bitloot_payments.adapters.orm import ipn_log, metadata
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.ipn_retry import defects_after
from bitloot_payments.domain.records import PENDING, IpnEntry, LoggedIpn
from bitloot_payments.handlers.edge_load import EdgeLoad
from bitloot_payments.handlers.process_ipns import IpnProcessor, _in_its_trace
from bitloot_payments.migrations import VERSIONS
from bitloot_runtime import telemetry
from bitloot_runtime.db import asyncpg_dsn, create_engine, migrate
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import eventually
from bitloot_testing.proxy import through_proxy
from bitloot_testing.rabbitmq import BusNamespace


async def ipn_rows(runtime: ServiceRuntime) -> list[dict[str, Any]]:
    return await fetch(runtime, select(ipn_log).order_by(ipn_log.c.id))


@asynccontextmanager
async def order_locked(database_url: str, order_id: str) -> AsyncIterator[asyncpg.Connection]:
    """The order's row held ``FOR UPDATE`` by another connection until the block ends."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute("SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE", order_id)
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()


async def blocked_backend(locker: asyncpg.Connection) -> int:
    """The pid of the backend waiting for the lock `locker` holds."""

    async def find() -> int | None:
        found: int | None = await locker.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return found

    pid: int | None = None

    async def waiting() -> bool:
        nonlocal pid
        pid = await find()
        return pid is not None

    assert await eventually(waiting, timeout=10), "the processor never waited for the lock"
    assert pid is not None
    return pid


async def retries_of(runtime: ServiceRuntime) -> int:
    [row] = await ipn_rows(runtime)
    return int(row["retries"])


async def test_an_ipn_whose_statements_are_cancelled_is_retried_until_it_pays_the_order_once(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    database_url: str,
    bus_prefix: BusNamespace,
) -> None:
    """The order row is locked by someone else, and the processor's waiting statement is
    cancelled again and again (more often than the defect limit, 3 here): NOWPayments had
    its 200, so the IPN must stay pending, and pay the order once the lock is gone."""
    order_id = await new_order(client)
    async with watching(runtime, bus_prefix) as spy:
        async with order_locked(database_url, order_id) as locker:
            answer = await send(client, ipn(order_id, "finished"))
            assert answer.status_code == 200
            for cancelled in range(1, 6):
                pid = await blocked_backend(locker)
                assert await locker.fetchval("SELECT pg_cancel_backend($1)", pid)

                async def recorded(count: int = cancelled) -> bool:
                    return await retries_of(runtime) >= count

                assert await eventually(recorded, timeout=10)
            [row] = await ipn_rows(runtime)
            assert (row["result"], row["processed_at"]) == (PENDING, None)
            assert row["last_error"].startswith("transient: ")
            assert "canceling statement due to user request" in row["last_error"]
            assert (await order_row(runtime, order_id))["status"] == "invoiced"
        messages = await spy.collect(expected=2, timeout=15)
    assert [f["order_id"] for f in of_topic(messages, "payment.finished")] == [order_id]
    assert (await order_row(runtime, order_id))["status"] == "paid"
    assert [r[2] for r in await results(runtime)] == ["paid"]


async def test_an_ipn_whose_database_connection_is_killed_mid_processing_still_applies(
    client: httpx.AsyncClient, runtime: ServiceRuntime, database_url: str
) -> None:
    order_id = await new_order(client)
    async with order_locked(database_url, order_id) as locker:
        await send(client, ipn(order_id, "finished"))
        pid = await blocked_backend(locker)
        assert await locker.fetchval("SELECT pg_terminate_backend($1)", pid)

        async def retried() -> bool:
            return await retries_of(runtime) >= 1

        assert await eventually(retried, timeout=10)
        [row] = await ipn_rows(runtime)
        assert row["last_error"].startswith("transient: "), row["last_error"]
    assert await results(runtime) == [(True, False, "paid")]
    assert (await order_row(runtime, order_id))["status"] == "paid"


async def test_an_ipn_failing_the_same_way_every_time_is_given_up_and_flagged(
    runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    """Only a stored body that cannot be read fails this way (the edge parsed what it
    stored): the third identical failure gives it up."""
    async with runtime.units_of_work(PaymentsUnitOfWork)() as uow:
        await uow.ipns.add(IpnEntry(b"{truncated", True, PENDING, "77"))
        await uow.ipns.add(IpnEntry(b'{"payment_id": 78}', True, PENDING, "78"))
        await uow.commit()
    assert [r[2] for r in await results(runtime)] == ["error", "unsupported"]
    given_up = (await ipn_rows(runtime))[0]
    assert (given_up["retries"], given_up["defects"]) == (3, 3)
    assert given_up["last_error"].startswith("defect: InvalidIpnBody")
    flagged = await admin.get("/internal/flags")
    kinds = {(f["kind"], f["payment_id"]) for f in flagged.json()["items"]}
    assert kinds == {("processing_error", "77"), ("unsupported", "78")}
    [error_flag] = [f for f in flagged.json()["items"] if f["kind"] == "processing_error"]
    assert "3 times in a row" in error_flag["detail"]


def test_only_identical_defects_in_a_row_count_towards_giving_up() -> None:
    assert defects_after(None, 0, "ValueError: x") == 1
    assert defects_after("defect: ValueError: x", 1, "ValueError: x") == 2
    assert defects_after("defect: ValueError: y", 2, "ValueError: x") == 1
    assert defects_after("transient: ValueError: x", 2, "ValueError: x") == 1


async def test_the_processor_waits_while_an_ipn_is_being_answered() -> None:
    load = EdgeLoad()
    with load.answering():
        waiting = asyncio.ensure_future(load.quiet())
        await asyncio.sleep(0.01)
        assert not waiting.done()
    await asyncio.wait_for(waiting, timeout=1)
    await asyncio.wait_for(load.quiet(), timeout=1)


async def test_the_processor_gives_way_only_to_a_busy_edge_and_never_for_good() -> None:
    load = EdgeLoad(busy_at=2)
    with load.answering():
        await asyncio.wait_for(load.quiet(), timeout=1)  # one in flight: not busy
        with load.answering():
            waiting = asyncio.ensure_future(load.quiet())
            await asyncio.sleep(0.01)
            assert not waiting.done()
            started = asyncio.get_running_loop().time()
            await load.quiet(at_most=0.05)  # busy, but not waited on for longer
            assert asyncio.get_running_loop().time() - started < 1
        await asyncio.wait_for(waiting, timeout=1)


async def test_the_processor_outlives_a_database_outage_and_applies_what_waited(
    database_url: str,
) -> None:
    """The processor alone (no service around it) on a database reached through a proxy
    that is cut: its passes fail while the database is away; once it is back, the IPN
    that arrived meanwhile is applied, with no restart."""
    await migrate(database_url, metadata, [VERSIONS])
    stored = create_engine(database_url)
    async with through_proxy(database_url) as (database, proxied_url):
        engine = create_engine(proxied_url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        processor = IpnProcessor(lambda: PaymentsUnitOfWork(sessions), poll_interval=0.05)
        await database.down()
        running = asyncio.create_task(processor.run())
        try:
            await asyncio.sleep(0.5)  # several passes, each failing to connect
            assert not running.done(), "the processor stopped when the database went away"
            async with stored.begin() as connection:
                await connection.execute(
                    ipn_log.insert().values(
                        raw_body=b'{"payment_id": 79}', signature_valid=True, payment_id="79",
                        duplicate=False, result=PENDING,
                    )
                )  # fmt: skip
            await database.up()

            async def applied() -> bool:
                async with stored.connect() as connection:
                    query = select(ipn_log.c.result).where(ipn_log.c.payment_id == "79")
                    result: str = (await connection.execute(query)).scalar_one()
                    return result == "unsupported"

            assert await eventually(applied, timeout=10)
        finally:
            running.cancel()
            await engine.dispose()
            await stored.dispose()


async def store_pending(runtime: ServiceRuntime, bodies: list[bytes]) -> None:
    """Store `bodies` as authentic pending IPNs in one transaction, so that the processor
    finds them all at once (as it does behind a busy edge)."""
    async with runtime.units_of_work(PaymentsUnitOfWork)() as uow:
        for body in bodies:
            await uow.ipns.add(IpnEntry(body, True, PENDING))
        await uow.commit()


async def test_ipns_found_together_are_each_applied_once_with_their_events(
    client: httpx.AsyncClient, runtime: ServiceRuntime, bus_prefix: BusNamespace
) -> None:
    first, second = await new_order(client), await new_order(client)
    documents = [
        ipn(first, "waiting"),
        ipn(second, "waiting", payment_id=5077125052),
        ipn(first, "finished"),
        ipn(first, "finished"),  # NOWPayments' retry: a duplicate
        ipn(second, "finished", payment_id=5077125052),
    ]
    async with watching(runtime, bus_prefix) as spy:
        await store_pending(runtime, [json.dumps(d).encode() for d in documents])
        assert await results(runtime) == [
            (True, False, "applied"),
            (True, False, "applied"),
            (True, False, "paid"),
            (True, True, "duplicate"),
            (True, False, "paid"),
        ]
        messages = await spy.collect(expected=6, timeout=15)
    finished = sorted(f["order_id"] for f in of_topic(messages, "payment.finished"))
    assert finished == sorted([first, second])
    for order_id in (first, second):
        assert (await order_row(runtime, order_id))["status"] == "paid"


async def test_a_failing_ipn_among_others_fails_alone(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    """A defect in one IPN of those found together keeps none of the batch's work; each
    is then attempted alone, so the others are applied and only it is retried and given
    up."""
    first, second = await new_order(client), await new_order(client)
    bodies = [
        json.dumps(ipn(first, "finished")).encode(),
        b'{"payment_id": 80, "broken": ',
        json.dumps(ipn(second, "finished", payment_id=5077125052)).encode(),
    ]
    await store_pending(runtime, bodies)
    assert [r[2] for r in await results(runtime)] == ["paid", "error", "paid"]
    rows = await ipn_rows(runtime)
    assert [(r["retries"], r["defects"]) for r in rows] == [(0, 0), (3, 3), (0, 0)]
    for order_id in (first, second):
        assert (await order_row(runtime, order_id))["status"] == "paid"


def test_with_tracing_off_an_ipn_is_applied_in_no_span_at_all() -> None:
    # No attributes built, no generator entered per IPN: the shared no-op context.
    ipn = LoggedIpn(
        id=1,
        received_at=datetime.now(UTC),
        signature_valid=True,
        payment_id="5077125051",
        order_id=uuid4(),
        status="finished",
        duplicate=False,
        result=PENDING,
        processed_at=None,
        raw_body=b"{}",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    assert not telemetry.enabled()
    assert _in_its_trace(ipn) is telemetry.NO_SPAN
