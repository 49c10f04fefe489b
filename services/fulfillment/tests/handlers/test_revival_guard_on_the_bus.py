"""A failed order Kinguin completes late, on the real bus and database: its keys are
requested after all while its refund is only due, never once the refund is approved."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import pytest
from fulfillment_support import (
    failed_with_refund,
    publish,
    published,
    reported,
    saga_in_state,
    saga_row,
    spying,
)

from bitloot_contracts.events import RefundStatus
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import Spy, eventually
from bitloot_testing.rabbitmq import BusNamespace


@asynccontextmanager
async def completed_late(
    runtime: ServiceRuntime, bus: BusNamespace, status: RefundStatus
) -> AsyncIterator[tuple[UUID, Spy]]:
    """Kinguin completes the failed order whose refund is `status`; the spy sees what
    followed."""
    order_id = await failed_with_refund(runtime, "due", status)
    async with spying(runtime, bus) as spy:
        await publish(runtime, reported(order_id, "K-2"))
        yield order_id, spy


@pytest.mark.parametrize("status", ["due", "claimed"])
async def test_a_late_completion_with_the_refund_only_due_delivers_the_keys(
    fulfillment: ServiceRuntime, bus_prefix: BusNamespace, status: RefundStatus
) -> None:
    async with completed_late(fulfillment, bus_prefix, status) as (order_id, spy):
        [keys] = await published(spy, "keys.requested", 1)
    assert keys.correlation_id == str(order_id)
    await saga_in_state(fulfillment, order_id, "keys_requested")


@pytest.mark.parametrize("status", ["approved", "sent"])
async def test_a_late_completion_after_the_refund_was_approved_requests_no_keys(
    fulfillment: ServiceRuntime, bus_prefix: BusNamespace, status: RefundStatus
) -> None:
    async with completed_late(fulfillment, bus_prefix, status) as (order_id, spy):

        async def heard() -> bool:
            row = await saga_row(fulfillment, order_id)
            return row is not None and row["kinguin_status"] == "completed"

        assert await eventually(heard, timeout=20)
        seen = await spy.collect(expected=1, timeout=3)
    topics = [message.routing_key for message in seen]
    assert topics == ["kinguin.webhook"]  # no keys.requested, no order.status_changed
    row = await saga_row(fulfillment, order_id)
    assert row is not None
    assert row["state"] == "failed"
    assert row["failure_reason"].startswith("Kinguin completed the order after the refund was")
    assert await fulfillment.dead_letters.list() == []
