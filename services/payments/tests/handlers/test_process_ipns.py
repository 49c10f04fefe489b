"""The IPN processor: what it does with stored IPNs it cannot apply, and its priority."""

import asyncio

import httpx
from payments_support import results

from bitloot_payments.adapters.ipn_log import PENDING, IpnEntry, log_ipn
from bitloot_payments.handlers.edge_load import EdgeLoad
from bitloot_runtime.service import ServiceRuntime


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
