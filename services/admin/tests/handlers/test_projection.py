"""The projection of the notification topics, consuming from real RabbitMQ."""

import httpx
from admin_support import RunningAdmin, StandIns
from sqlalchemy import func, select

from bitloot_admin.adapters.orm import order_activity
from bitloot_contracts.events import Event, OrderFulfilled, OrderStatusChanged
from bitloot_testing.bus import eventually


async def publish(admin: RunningAdmin, event: Event) -> None:
    await admin.runtime.publisher.publish(event)


async def test_order_fulfilled_is_recorded_once_even_when_delivered_twice(
    admin: RunningAdmin, alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    fulfilled = OrderFulfilled(order_id=order_id, key_count=1)
    # Out of order: the terminal event before the transition that precedes it.
    await publish(admin, fulfilled)
    await publish(admin, fulfilled)
    await publish(admin, OrderStatusChanged(order_id=order_id, status="delivering"))

    async def recorded() -> int:
        async with admin.runtime.engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).where(order_activity.c.order_id == order_id)
            )
        return int(count or 0)

    async def two_recorded() -> bool:
        return await recorded() >= 2

    assert await eventually(two_recorded, timeout=15)
    assert await eventually(lambda: _duplicate_seen(admin), timeout=15)
    assert await recorded() == 2
    timeline = (await alice.get(f"/admin/api/orders/{order_id}")).json()["timeline"]
    assert [(e["service"], e["kind"]) for e in timeline] == [
        ("admin", "order_fulfilled"),
        ("admin", "order_status_changed"),
    ]
    assert await admin.runtime.dead_letters.list() == []


async def _duplicate_seen(admin: RunningAdmin) -> bool:
    queue = admin.runtime.topology.queue_name("admin", "order.fulfilled")
    labels = {"queue": queue, "outcome": "duplicate"}
    seen = admin.runtime.metrics.source.get_sample_value("bitloot_messages_consumed_total", labels)
    return (seen or 0) >= 1
