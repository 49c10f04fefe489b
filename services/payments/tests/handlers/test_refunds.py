"""A refund the bus makes due, through the real broker and database: a failed paid order
owes its money back once, even when the same message is delivered again (the inbox).
What is owed, when, and what a fulfilment after all does to it are business rules,
tested on the in-memory unit of work (test_refunds_on_fakes, test_rules_on_fakes)."""

import asyncio
from decimal import Decimal

import httpx
from payments_support import watching
from refund_support import (
    PAID,
    PAID_IN,
    emitted,
    failed,
    order_status,
    paid_order,
    refund_of,
    refund_rows,
)

from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.rabbitmq import BusNamespace

STATUS_CHANGED = "refund.status_changed"


async def quiet(runtime: ServiceRuntime) -> None:
    """Wait for the consumers to be done with what was published (no inbox growth)."""
    await asyncio.sleep(1.0)


async def test_a_failed_paid_order_owes_what_was_paid_once_even_when_told_twice(
    client: httpx.AsyncClient, runtime: ServiceRuntime, bus_prefix: BusNamespace
) -> None:
    order_id = await paid_order(client, runtime)
    event = failed(order_id)
    async with watching(runtime, bus_prefix) as spy:
        await runtime.publisher.publish(event)
        await runtime.publisher.publish(event)  # the same message, delivered again
        refund = await refund_of(runtime, order_id)
        seen = await spy.collect(3, timeout=10)
    await quiet(runtime)
    assert len(await refund_rows(runtime, order_id)) == 1
    assert (refund["status"], refund["reason"], refund["cause"]) == (
        "due",
        "order_failed",
        "reserving",
    )
    assert (refund["amount"], refund["currency"]) == (Decimal(PAID), PAID_IN)
    assert await order_status(runtime, order_id) == "refund_due"
    [due] = await emitted(runtime, order_id, STATUS_CHANGED)
    assert (due["status"], due["previous_status"]) == ("due", None)
    assert (due["refund_id"], due["amount"], due["currency"]) == (refund["id"], PAID, PAID_IN)
    assert due["customer_email"] == "buyer@example.com"
    published = [m for m in seen if m.routing_key == STATUS_CHANGED]
    assert len(published) == 1
