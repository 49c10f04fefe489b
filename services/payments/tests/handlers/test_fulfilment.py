"""A fulfilment asks whether the order has a refund in the same statement that records it
(`record_fulfilled`): that answer must see a refund recorded by a transaction the update
waited for, or a failed order fulfilled after all would keep its refund unseen."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from refund_support import failed, fulfilment_state, paid_order, refund_rows, saga

from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.handlers.fulfilment import RecordFulfilment
from bitloot_payments.handlers.refunds import RefundFailedOrder
from bitloot_runtime.service import ServiceRuntime


async def test_a_fulfilment_that_waited_for_a_refund_being_recorded_cancels_it(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await paid_order(client, runtime)
    now = datetime.now(UTC)
    async with PaymentsUnitOfWork(runtime.engine) as failing:
        # The failure's refund is recorded under the order's lock, not yet committed.
        await RefundFailedOrder()(failed(order_id, now - timedelta(seconds=5)), failing)
        assert len(await refund_rows(runtime, order_id)) == 0

        async def fulfil() -> None:
            async with PaymentsUnitOfWork(runtime.engine) as uow:
                await RecordFulfilment()(saga(order_id, "fulfilled", now), uow)
                await uow.commit()

        fulfilling = asyncio.create_task(fulfil())
        await asyncio.sleep(0.5)
        assert not fulfilling.done(), "the fulfilment did not wait for the order's lock"
        await failing.commit()
    await asyncio.wait_for(fulfilling, 10)
    [refund] = await refund_rows(runtime, order_id)
    assert refund["status"] == "canceled"
    assert await fulfilment_state(runtime, order_id) == "fulfilled"


async def test_a_fulfilment_says_whether_the_order_has_refunds_or_was_not_recorded(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await paid_order(client, runtime)
    now = datetime.now(UTC)
    async with PaymentsUnitOfWork(runtime.engine) as uow:
        assert await uow.orders.record_fulfilled(UUID(order_id), now) is False
        # An older fulfilment, or one of an order not known, is not recorded.
        assert await uow.orders.record_fulfilled(UUID(order_id), now - timedelta(1)) is None
        assert await uow.orders.record_fulfilled(UUID(int=7), now) is None
    async with PaymentsUnitOfWork(runtime.engine) as uow:
        await RefundFailedOrder()(failed(order_id, now - timedelta(seconds=5)), uow)
        assert await uow.orders.record_fulfilled(UUID(order_id), now) is True
