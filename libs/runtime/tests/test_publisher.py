"""The publisher on a real broker: what reaches the wire, concurrent confirms, returns."""

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from aio_pika import DeliveryMode
from aio_pika.exceptions import PublishError
from runtime_support import WIDGET_MADE, on_bus

from bitloot_runtime.publisher import BusPublisher
from bitloot_runtime.topology import Topology
from bitloot_testing.bus import spy_on
from bitloot_testing.rabbitmq import BusNamespace


@pytest.fixture
async def publisher(database_url: str, bus_prefix: BusNamespace) -> AsyncIterator[BusPublisher]:
    """The publisher of a started runtime, as a service has it."""
    async with on_bus(database_url, bus_prefix) as runtime:
        yield runtime.publisher


async def test_an_event_is_persistent_json_with_its_identity_and_headers(
    publisher: BusPublisher, bus_prefix: BusNamespace
) -> None:
    order_id, message_id = str(uuid4()), str(uuid4())
    exchange = Topology(bus_prefix.prefix).exchange.name
    async with spy_on(bus_prefix.amqp_url, bus_prefix.prefix, exchange) as spy:
        await publisher.publish_event(
            topic=WIDGET_MADE,
            body=b'{"a": 1}',
            message_id=message_id,
            order_id=order_id,
            headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
        )
        [message] = await spy.collect(expected=1)
    assert message.body == b'{"a": 1}'
    assert message.routing_key == WIDGET_MADE
    assert (message.message_id, message.correlation_id) == (message_id, order_id)
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.content_type == "application/json"
    assert message.headers == {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}


async def test_concurrent_publishes_are_each_confirmed_once(
    publisher: BusPublisher, bus_prefix: BusNamespace
) -> None:
    ids = [str(uuid4()) for _ in range(200)]
    exchange = Topology(bus_prefix.prefix).exchange.name
    async with spy_on(bus_prefix.amqp_url, bus_prefix.prefix, exchange) as spy:
        await asyncio.gather(
            *(
                publisher.publish_event(
                    topic=WIDGET_MADE, body=b"{}", message_id=i, order_id=None, headers={}
                )
                for i in ids
            )
        )
        messages = await spy.collect(expected=len(ids))
    assert sorted(m.message_id or "" for m in messages) == sorted(ids)
    confirmed = publisher._metrics.published.labels(topic=WIDGET_MADE)._value.get()
    assert confirmed == len(ids)


async def test_an_unroutable_publish_raises_among_routable_ones(publisher: BusPublisher) -> None:
    async def publish(topic: str) -> None:
        await publisher.publish_event(
            topic=topic, body=b"{}", message_id=str(uuid4()), order_id=None, headers={}
        )

    results = await asyncio.gather(
        publish(WIDGET_MADE),
        publish("nobody.listens"),
        publish(WIDGET_MADE),
        return_exceptions=True,
    )
    assert [results[0], results[2]] == [None, None]
    assert isinstance(results[1], PublishError)
