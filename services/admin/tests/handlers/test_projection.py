"""What the admin takes from real RabbitMQ: a refund's story, projected once however often
told; the order's other steps, read from the services and never projected; the topics no
service consumes, drained without a transaction; the queues an older admin projected
from, deleted."""

from uuid import uuid4

import aio_pika
import httpx
from admin_support import RunningAdmin, StandIns, alice_settings, at, refund_changed, running_admin
from faststream.rabbit.testing import TestRabbitBroker
from sqlalchemy import func, select

from bitloot_admin.adapters.orm import order_activity
from bitloot_admin.bootstrap import build
from bitloot_contracts.events import (
    Event,
    KeysRevoked,
    OrderFailed,
    OrderFulfilled,
    OrderStatusChanged,
    PaymentStatusChanged,
)
from bitloot_runtime.publisher import create_broker
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace


async def publish(admin: RunningAdmin, event: Event) -> None:
    await admin.runtime.publisher.publish(event)


async def recorded(admin: RunningAdmin) -> int:
    async with admin.runtime.engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(order_activity))
    return int(count or 0)


def consumed(admin: RunningAdmin, topic: str, outcome: str) -> float:
    queue = admin.runtime.topology.queue_name("admin", topic)
    labels = {"queue": queue, "outcome": outcome}
    seen = admin.runtime.metrics.source.get_sample_value("bitloot_messages_consumed_total", labels)
    return seen or 0


async def test_a_refund_is_projected_once_and_the_order_steps_come_from_the_services(
    admin: RunningAdmin, alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    stand_ins.timelines = {
        "payments": {str(order_id): [_item(at(1), "ipn_received", "IPN finished (valid)")]},
        "fulfillment": {str(order_id): [_item(at(2), "saga_fulfilled", "delivering → fulfilled")]},
        "delivery": {str(order_id): [_item(at(3), "key_revoked", "revoked by admin:alice")]},
    }
    refund = refund_changed(order_id, "due")
    # The refund twice (a redelivery), the revocation, and every per-order step.
    for event in (
        refund,
        refund,
        KeysRevoked(order_id=order_id, key_count=1, revoked_by="admin:alice"),
        PaymentStatusChanged(order_id=order_id, payment_id="p1", status="finished"),
        OrderStatusChanged(order_id=order_id, status="fulfilled", previous_status="delivering"),
        OrderFulfilled(order_id=order_id, key_count=1),
        OrderFailed(order_id=order_id, stage="reservation", reason="no stock"),
    ):
        await publish(admin, event)

    async def told() -> bool:
        return (
            consumed(admin, "refund.status_changed", "duplicate") >= 1
            and consumed(admin, "keys.revoked", "ok") >= 1
            and consumed(admin, "payment.status_changed", "drained") >= 1
            and consumed(admin, "order.fulfilled", "drained") >= 1
        )

    assert await eventually(told, timeout=15)
    # The refund and the revocation, once each; nothing of the order's other steps.
    assert await recorded(admin) == 2
    timeline = (await alice.get(f"/admin/api/orders/{order_id}")).json()["timeline"]
    # The revocation is delivery's row (the projected copy is folded); the refund the
    # admin's, as no service keeps each status change of a refund.
    assert [(e["service"], e["kind"], e["summary"]) for e in timeline] == [
        ("payments", "ipn_received", "IPN finished (valid)"),
        ("fulfillment", "saga_fulfilled", "delivering → fulfilled"),
        ("delivery", "key_revoked", "revoked by admin:alice"),
        ("admin", "refund_status_changed", "Refund due — waiting for the customer's address"),
    ]
    assert await admin.runtime.dead_letters.list() == []


async def test_the_drained_queues_stay_empty(admin: RunningAdmin, stand_ins: StandIns) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    for _ in range(20):
        await publish(admin, OrderFulfilled(order_id=order_id, key_count=1))

    async def all_drained() -> bool:
        return consumed(admin, "order.fulfilled", "drained") >= 20

    assert await eventually(all_drained, timeout=15)
    name = admin.runtime.topology.queue_name("admin", "order.fulfilled")
    connection = await aio_pika.connect(admin.settings.amqp_url)
    async with connection:
        queue = await (await connection.channel()).declare_queue(name, passive=True)
        assert queue.declaration_result.message_count == 0
    assert await recorded(admin) == 0


async def test_the_queues_an_older_admin_projected_from_are_deleted_at_start(
    database_url: str, bus_prefix: BusNamespace, stand_ins: StandIns
) -> None:
    settings = alice_settings(database_url, bus_prefix, stand_ins)
    retired = [f"{bus_prefix.prefix}admin.{t}" for t in ("order.status_changed", "order.failed")]
    for name in retired:
        bus_prefix.track_queue(name)
    connection = await aio_pika.connect(bus_prefix.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in retired:
            await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        async with running_admin(settings, bus_prefix) as admin:

            async def deleted() -> bool:
                return admin.runtime.stopped() == [] and await _gone(connection, retired)

            assert await eventually(deleted, timeout=15)


async def _gone(connection: aio_pika.abc.AbstractConnection, names: list[str]) -> bool:
    for name in names:
        channel = await connection.channel()
        try:
            await channel.declare_queue(name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            continue
        await channel.close()
        return False
    return True


def _item(when: str, kind: str, summary: str) -> dict[str, object]:
    return {"at": when, "kind": kind, "summary": summary, "data": {}}


async def test_the_in_memory_broker_of_the_demo_takes_the_drained_topics(
    database_url: str, bus_prefix: BusNamespace, stand_ins: StandIns
) -> None:
    # FastStream's in-memory broker refuses a publish no subscriber takes.
    broker = create_broker("amqp://in-memory/", prefetch=16)
    runtime, _app = build(
        alice_settings(database_url, bus_prefix, stand_ins), in_memory_broker=broker
    )
    order_id = uuid4()
    async with TestRabbitBroker(broker):
        await runtime.publisher.publish(OrderFulfilled(order_id=order_id, key_count=1))
        await runtime.publisher.publish(
            PaymentStatusChanged(order_id=order_id, payment_id="p1", status="finished")
        )
    await runtime.engine.dispose()
