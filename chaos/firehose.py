"""The bus witness: RabbitMQ's firehose (https://rabbitmq.com/firehose.html).

With tracing on in a vhost, the broker copies every message published in it, to any
exchange (the event exchange, each service's `<svc>.delay.*` retry exchanges, the
default exchange an admin's dead-letter replay goes to), onto `amq.rabbitmq.trace` with
routing key `publish.<exchange>`. A durable quorum queue bound there with `publish.#`
keeps those copies through a broker crash for the checks at the end, so the bus is
judged by the broker, not by the services' own accounts of what they published.

Limits, from the broker: tracing is per node and not persistent, so it must be turned on
again on each node that (re)starts, and a publish through a node before that is not
seen; messages the broker moves by itself (a delay queue's TTL expiry dead-lettering to
the default exchange) are not publishes and are not traced, but they are the very
messages published to the delay exchange before, which are.
"""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
from aiormq.abc import FieldTable

TRACE_EXCHANGE = "amq.rabbitmq.trace"
QUEUE = "chaos.firehose"
QUORUM: FieldTable = {"x-queue-type": "quorum"}


@dataclass(frozen=True)
class Published:
    """One message as published: to `exchange` ("" the default exchange) with
    `routing_key` (the first of `routing_keys`, "" when none), its `body`, its own AMQP
    `headers` and the rest of its `properties` (message id, content type, ...)."""

    exchange: str
    routing_key: str
    body: bytes
    headers: Mapping[str, Any]
    properties: Mapping[str, Any]
    routing_keys: tuple[str, ...] = ()

    @property
    def text(self) -> bytes:
        """Everything the publisher wrote, for the leak scan: the body, then the headers
        and properties as printed."""
        printed = repr(dict(self.headers)) + repr(dict(self.properties))
        return self.body + b"\n" + printed.encode()


def vhost_of(amqp_url: str) -> str:
    """The vhost an AMQP URL names (its path, percent-decoded; "/" when empty)."""
    return unquote(urlsplit(amqp_url).path[1:]) or "/"


async def trace_on(ctl: Callable[..., object], amqp_url: str, queue: str = QUEUE) -> None:
    """Turn tracing on in `amqp_url`'s vhost with `ctl` (which runs ``rabbitmqctl`` with
    its arguments against one node: call again for each node of a cluster, and after a
    node restarts), then declare `queue` bound to every publish. Idempotent."""
    await asyncio.to_thread(ctl, "trace_on", "-p", vhost_of(amqp_url))
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        trace = await channel.get_exchange(TRACE_EXCHANGE, ensure=False)
        declared = await channel.declare_queue(queue, durable=True, arguments=QUORUM)
        await declared.bind(trace, routing_key="publish.#")
    finally:
        await connection.close()


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def published(message: aio_pika.abc.AbstractIncomingMessage) -> Published:
    """A trace message read back as the publish it copies (its headers carry
    `exchange_name`, `routing_keys` and the original `properties`)."""
    trace = message.headers or {}
    routing = trace.get("routing_keys")
    keys = tuple(_text(key) for key in routing) if isinstance(routing, list | tuple) else ()
    properties = trace.get("properties")
    original = dict(properties) if isinstance(properties, Mapping) else {}
    headers = original.pop("headers", None)
    return Published(
        exchange=_text(trace.get("exchange_name", "")),
        routing_key=keys[0] if keys else "",
        body=message.body,
        headers=dict(headers) if isinstance(headers, Mapping) else {},
        properties=original,
        routing_keys=keys,
    )


async def drain(amqp_url: str, queue: str = QUEUE) -> list[Published]:
    """Every publish the firehose queue holds, in the order the broker saw them; the
    queue is left empty."""
    connection = await aio_pika.connect(amqp_url)
    found: list[Published] = []
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True, arguments=QUORUM)
        while (message := await declared.get(fail=False, no_ack=True)) is not None:
            found.append(published(message))
    finally:
        await connection.close()
    return found
