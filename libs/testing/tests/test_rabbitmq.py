"""Per-test bus namespaces on the real broker: tracked names are deleted afterwards."""

import asyncio
import textwrap

import aio_pika
import pytest

from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.servers import AMQP_ENV, RabbitServer

pytest_plugins = ("pytester",)

INNER_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
"""

# Declares a queue and an exchange, tracks them, and leaves the prefix for the outer test.
INNER_TEST = """
from pathlib import Path

import aio_pika


async def test_declares(bus_prefix):
    connection = await aio_pika.connect(bus_prefix.amqp_url)
    channel = await connection.channel()
    await channel.declare_exchange(bus_prefix.prefix + "ex", durable=True)
    await channel.declare_queue(bus_prefix.prefix + "q", durable=True)
    await connection.close()
    bus_prefix.track_queue(bus_prefix.prefix + "q")
    bus_prefix.track_exchange(bus_prefix.prefix + "ex")
    Path("prefix.txt").write_text(bus_prefix.prefix)
"""


async def queue_exists(amqp_url: str, name: str) -> bool:
    connection = await aio_pika.connect(amqp_url)
    try:
        await (await connection.channel()).declare_queue(name, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return False
    finally:
        await connection.close()
    return True


async def exchange_exists(amqp_url: str, name: str) -> bool:
    connection = await aio_pika.connect(amqp_url)
    try:
        await (await connection.channel()).get_exchange(name, ensure=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return False
    finally:
        await connection.close()
    return True


async def test_bus_namespace_deletes_its_queues_on_teardown(
    pytester: pytest.Pytester, rabbitmq_server: RabbitServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The inner run must use this run's broker, whatever it would have resolved alone.
    monkeypatch.setenv(AMQP_ENV, rabbitmq_server.url)
    pytester.makeini(INNER_INI)
    pytester.makepyfile(textwrap.dedent(INNER_TEST))
    # In a thread: the inner run takes seconds, and this test's event loop must not stall.
    result = await asyncio.to_thread(pytester.runpytest_subprocess, "-q", timeout=120)
    result.assert_outcomes(passed=1)
    prefix = (pytester.path / "prefix.txt").read_text()
    assert prefix.startswith("t")
    assert prefix.endswith(".")
    assert not await queue_exists(rabbitmq_server.url, prefix + "q")
    assert not await exchange_exists(rabbitmq_server.url, prefix + "ex")


async def test_delete_all_deletes_tracked_names_and_ignores_missing_ones(
    bus_prefix: BusNamespace,
) -> None:
    namespace = BusNamespace(bus_prefix.prefix + "inner.", bus_prefix.amqp_url)
    connection = await aio_pika.connect(namespace.amqp_url)
    channel = await connection.channel()
    await channel.declare_exchange(f"{namespace.prefix}ex", durable=True)
    await channel.declare_queue(f"{namespace.prefix}q", durable=True)
    await connection.close()
    namespace.track_queue(f"{namespace.prefix}never-declared")
    namespace.track_queue(f"{namespace.prefix}q")
    namespace.track_exchange(f"{namespace.prefix}ex")
    namespace.track_exchange(f"{namespace.prefix}never-declared")
    assert await queue_exists(namespace.amqp_url, f"{namespace.prefix}q")

    await namespace.delete_all()

    assert not await queue_exists(namespace.amqp_url, f"{namespace.prefix}q")
    assert not await exchange_exists(namespace.amqp_url, f"{namespace.prefix}ex")


def test_bus_namespace_refuses_a_name_outside_its_prefix(bus_prefix: BusNamespace) -> None:
    with pytest.raises(ValueError, match="lacks this test's prefix"):
        bus_prefix.track_queue("bitloot.events")


def test_each_test_gets_its_own_prefix_of_this_run(bus_prefix: BusNamespace, run_id: str) -> None:
    assert bus_prefix.prefix.startswith(f"{run_id}.")
    assert bus_prefix.prefix.endswith(".")
    assert bus_prefix.prefix.removeprefix(f"{run_id}.").removesuffix(".").isdigit()


def test_a_namespace_for_services_tracks_every_name_they_declare_under_its_prefix() -> None:
    bus = BusNamespace.for_services("run7.", "amqp://unused/", ["fulfillment"], (0.5, 2))
    assert "run7.bitloot.events" in bus.exchanges
    assert {"run7.fulfillment.delay.500ms", "run7.fulfillment.delay.2000ms"} <= bus.queues
    # Every service's subscription queues, whichever service's delays were asked for.
    assert {"run7.fulfillment.payment.finished", "run7.payments.order.failed"} <= bus.queues
    bus.track_services(["payments"])
    assert "run7.payments.delay.600000ms" in bus.queues
