"""The bus topology on a real broker: declared idempotently, routed as designed."""

import aio_pika
from faststream.rabbit import RabbitBroker

from bitloot_runtime.publisher import create_broker
from bitloot_runtime.topology import Topology, declare_topology
from bitloot_testing.rabbitmq import BusNamespace

SUBSCRIPTIONS = {"alpha": ("thing.done",), "beta": ("thing.done", "other.done")}


async def declared_broker(bus: BusNamespace) -> tuple[RabbitBroker, Topology]:
    topology = Topology(bus.prefix)
    for name in topology.names("alpha", (1.0, 5.0), SUBSCRIPTIONS):
        bus.track_queue(name)
        bus.track_exchange(name)
    broker = create_broker(bus.amqp_url, prefetch=1)
    await broker.connect()
    return broker, topology


async def test_declaring_twice_is_harmless_and_routes_each_topic_to_its_consumers(
    bus_prefix: BusNamespace,
) -> None:
    broker, topology = await declared_broker(bus_prefix)
    try:
        for _ in range(2):
            await declare_topology(broker, topology, "alpha", (1.0, 5.0), SUBSCRIPTIONS)
        await broker.publish(
            b"{}", exchange=topology.exchange, routing_key="thing.done", persist=True
        )
    finally:
        await broker.stop()
    connection = await aio_pika.connect(bus_prefix.amqp_url)
    try:
        channel = await connection.channel()
        depths = {}
        for service, topic in [
            ("alpha", "thing.done"),
            ("beta", "thing.done"),
            ("beta", "other.done"),
        ]:
            queue = await channel.declare_queue(topology.queue_name(service, topic), passive=True)
            depths[(service, topic)] = queue.declaration_result.message_count
        delay = await channel.declare_queue(topology.delay_name("alpha", 5.0), passive=True)
    finally:
        await connection.close()
    assert depths == {
        ("alpha", "thing.done"): 1,
        ("beta", "thing.done"): 1,
        ("beta", "other.done"): 0,
    }
    assert delay.name == f"{bus_prefix.prefix}alpha.delay.5000ms"


def test_names_carry_the_prefix() -> None:
    topology = Topology("staging.")
    assert topology.exchange.name == "staging.bitloot.events"
    assert (
        topology.queue_name("fulfillment", "payment.finished")
        == "staging.fulfillment.payment.finished"
    )
    assert topology.delay_name("delivery", 0.25) == "staging.delivery.delay.250ms"
