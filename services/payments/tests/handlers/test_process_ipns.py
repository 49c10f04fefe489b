"""The IPN processor: what it does with stored IPNs it cannot apply, its priority, and
its surviving the database going away."""

import asyncio

import httpx
from payments_support import results
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bitloot_payments.adapters.ipn_log import PENDING, IpnEntry, log_ipn
from bitloot_payments.adapters.orm import ipn_log, metadata
from bitloot_payments.handlers.edge_load import EdgeLoad
from bitloot_payments.handlers.process_ipns import IpnProcessor
from bitloot_payments.migrations import VERSIONS
from bitloot_runtime.db import UnitOfWork, create_engine, migrate
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import eventually
from bitloot_testing.proxy import through_proxy


async def test_a_stored_ipn_that_cannot_be_processed_is_set_aside_and_flagged(
    client: httpx.AsyncClient, runtime: ServiceRuntime, internal_headers: dict[str, str]
) -> None:
    async with runtime.unit_of_work() as uow:
        await log_ipn(uow.session, IpnEntry(b"{truncated", True, PENDING, "77"))
        await log_ipn(uow.session, IpnEntry(b'{"payment_id": 78}', True, PENDING, "78"))
        await uow.commit()
    assert [r[2] for r in await results(runtime)] == ["error", "unsupported"]
    flagged = await client.get("/internal/flags", headers=internal_headers)
    kinds = {(f["kind"], f["payment_id"]) for f in flagged.json()["items"]}
    assert kinds == {("processing_error", "77"), ("unsupported", "78")}


async def test_the_processor_waits_while_an_ipn_is_being_answered() -> None:
    load = EdgeLoad()
    with load.answering():
        waiting = asyncio.ensure_future(load.quiet())
        await asyncio.sleep(0.01)
        assert not waiting.done()
    await asyncio.wait_for(waiting, timeout=1)
    await asyncio.wait_for(load.quiet(), timeout=1)


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
        processor = IpnProcessor(lambda: UnitOfWork(sessions), poll_interval=0.05)
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
