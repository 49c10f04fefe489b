"""The firehose sees every publish in its vhost: a retry to a fanout delay exchange, a
replay to the default exchange and an event, with their bodies and headers; nothing
from another vhost. Against the machine's RabbitMQ, in a vhost made for the test."""

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import pytest

from chaos.firehose import drain, trace_on, vhost_of

BROKER = "amqp://guest:guest@127.0.0.1:5672"


def ctl(*arguments: str) -> None:
    """``rabbitmqctl`` against the machine's node (the tests run as root)."""
    subprocess.run(["rabbitmqctl", *arguments], check=True, capture_output=True, timeout=60)


@pytest.fixture
def vhost() -> Iterator[str]:
    name = f"chaos-firehose-{uuid.uuid4().hex[:8]}"
    ctl("add_vhost", name)
    ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    try:
        yield name
    finally:
        ctl("delete_vhost", name)


@pytest.fixture
async def channel(vhost: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(f"{BROKER}/{vhost}")
    async with connection:
        yield await connection.channel()


def test_the_vhost_is_read_from_the_url() -> None:
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672/") == "/"
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672") == "/"
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672/%2F") == "/"
    assert vhost_of("amqp://h:1/run-7") == "run-7"


async def test_every_publish_of_the_vhost_is_seen_with_body_and_headers(
    vhost: str, channel: aio_pika.abc.AbstractChannel
) -> None:
    url = f"{BROKER}/{vhost}"
    await trace_on(ctl, url)
    await trace_on(ctl, url)  # again, as after a node restart: still one copy each
    events = await channel.declare_exchange("x.bitloot.events", "topic", durable=True)
    delay = await channel.declare_exchange("x.delivery.delay.500ms", "fanout", durable=True)
    queue = await channel.declare_queue("x.delivery.keys.delivered", durable=True)
    await queue.bind(events, "keys.delivered")

    def message(body: bytes, **headers: str) -> aio_pika.Message:
        return aio_pika.Message(body, headers=dict(headers), message_id=body.decode())

    await events.publish(message(b"event", kind="event"), routing_key="keys.delivered")
    await delay.publish(message(b"retry", attempt="2"), routing_key=queue.name)
    await channel.default_exchange.publish(message(b"replay"), routing_key=queue.name)
    await events.publish(message(b"unrouted"), routing_key="nobody.listens")

    seen = await drain(url)

    assert [(p.exchange, p.routing_key, p.body) for p in seen] == [
        ("x.bitloot.events", "keys.delivered", b"event"),
        ("x.delivery.delay.500ms", queue.name, b"retry"),
        ("", queue.name, b"replay"),
        ("x.bitloot.events", "nobody.listens", b"unrouted"),
    ]
    assert _text(seen[1].headers["attempt"]) == "2"
    assert _text(seen[0].properties["message_id"]) == "event"
    assert b"retry" in seen[1].text
    assert b"attempt" in seen[1].text
    assert await drain(url) == []  # drained: the queue is empty


async def test_nothing_is_seen_before_tracing_is_on(
    vhost: str, channel: aio_pika.abc.AbstractChannel
) -> None:
    url = f"{BROKER}/{vhost}"
    await channel.default_exchange.publish(aio_pika.Message(b"before"), routing_key="q")
    await trace_on(ctl, url)
    await channel.default_exchange.publish(aio_pika.Message(b"after"), routing_key="q")

    assert [p.body for p in await drain(url)] == [b"after"]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
