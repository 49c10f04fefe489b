"""The fulfillment service on real RabbitMQ and PostgreSQL: events in, events out."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import select

from bitloot_contracts.events import (
    DeliveryCompleted,
    Event,
    KinguinWebhook,
    PaymentFinished,
    ReservationCreated,
)
from bitloot_contracts.events.payment import OrderLine
from bitloot_fulfillment.adapters.orm import sagas
from bitloot_fulfillment.bootstrap import build
from bitloot_fulfillment.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_testing.bus import Spy, eventually, spy_on
from bitloot_testing.rabbitmq import BusNamespace


@pytest.fixture
async def fulfillment(database_url: str, bus_prefix: BusNamespace) -> AsyncIterator[ServiceRuntime]:
    settings = load_settings(
        Settings,
        database_url=database_url,
        amqp_url=bus_prefix.amqp_url,
        bus_prefix=bus_prefix.prefix,
        retry_delays=(0.2, 0.5, 1.0),
        outbox_poll_interval=0.2,
    )
    runtime, _ = build(settings)
    for name in runtime.topology.names("fulfillment", settings.retry_delays):
        bus_prefix.track_queue(name)
        bus_prefix.track_exchange(name)
    await runtime.start()
    yield runtime
    await runtime.stop()


async def publish(runtime: ServiceRuntime, event: Event) -> None:
    await runtime.publisher.publish_event(
        topic=event.topic,
        body=event.model_dump_json().encode(),
        message_id=str(event.event_id),
        order_id=str(event.order_id),
        headers={},
    )


def payment(order_id: UUID) -> PaymentFinished:
    line = OrderLine(sku="g-1", kinguin_product_id="5c9b", qty=1, max_unit_price=Decimal("9"))
    return PaymentFinished(
        order_id=order_id,
        payment_id="np-1",
        amount=Decimal("12.50"),
        currency="usdttrc20",
        customer_email="buyer@example.com",
        lines=(line,),
    )


def topics_of(messages: list[AbstractIncomingMessage]) -> list[str]:
    return [m.routing_key or "" for m in messages]


async def published(spy: Spy, topic: str, count: int) -> list[AbstractIncomingMessage]:
    """The messages of `topic` once `count` of them (and no more) have been seen."""
    seen: list[AbstractIncomingMessage] = []

    async def enough() -> bool:
        seen.extend(await spy.collect(expected=0, timeout=0.3))
        return topics_of(seen).count(topic) >= count

    await eventually(enough, timeout=20)
    seen.extend(await spy.collect(expected=0, timeout=1.0))
    return [m for m in seen if m.routing_key == topic]


async def test_an_order_goes_from_paid_to_fulfilled_whatever_order_its_events_arrive_in(
    fulfillment: ServiceRuntime, bus_prefix: BusNamespace
) -> None:
    order_id = uuid4()
    async with spy_on(
        bus_prefix.amqp_url, bus_prefix.prefix, fulfillment.topology.exchange.name
    ) as spy:
        # The reservation overtakes the payment that started it; then Kinguin's webhook
        # arrives before anything else says the order exists at Kinguin.
        await publish(
            fulfillment,
            ReservationCreated(order_id=order_id, kinguin_order_id="K-9", status="processing"),
        )
        await publish(fulfillment, payment(order_id))
        [request] = await published(spy, "reservation.requested", 1)
        assert json.loads(request.body)["lines"][0]["kinguin_product_id"] == "5c9b"
        webhook = KinguinWebhook(
            order_id=order_id,
            kinguin_order_id="K-9",
            status="completed",
            updated_at=datetime.now(UTC),
        )
        await publish(fulfillment, webhook)
        await publish(fulfillment, webhook.model_copy(update={"event_id": uuid4()}))
        [keys] = await published(spy, "keys.requested", 1)
        assert json.loads(keys.body)["kinguin_order_id"] == "K-9"
        await publish(
            fulfillment, DeliveryCompleted(order_id=order_id, key_count=1, email_sent=True)
        )
        await publish(
            fulfillment, DeliveryCompleted(order_id=order_id, key_count=1, email_sent=True)
        )
        [done] = await published(spy, "order.fulfilled", 1)
    assert done.correlation_id == str(order_id)
    async with fulfillment.engine.connect() as connection:
        state = await connection.scalar(select(sagas.c.state).where(sagas.c.order_id == order_id))
    assert state == "fulfilled"
    assert await fulfillment.dead_letters.list() == []
