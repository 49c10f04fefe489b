"""The Health report names RabbitMQ as missing only when a real broker did not answer,
never on the demo's in-memory broker, which has no queues to read."""

from admin_support import INTERNAL_TOKEN, StandIns

from bitloot_admin.adapters.upstream import SERVICES, UpstreamClient
from bitloot_admin.handlers.health import Bus, CheckHealth, Health
from bitloot_runtime.topology import Topology

UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1/"


async def report_for(amqp_url: str | None, stand_ins: StandIns) -> Health:
    upstream = UpstreamClient({name: stand_ins.url(name) for name in SERVICES}, INTERNAL_TOKEN, 2.0)
    await upstream.start()
    try:
        return await CheckHealth(upstream, Bus(amqp_url, Topology()), 2.0)()
    finally:
        await upstream.close()


async def test_the_in_memory_broker_leaves_nothing_missing(stand_ins: StandIns) -> None:
    report = await report_for(None, stand_ins)
    assert report.partial == []
    assert report.in_memory_bus
    assert report.queues == []


async def test_a_broker_that_does_not_answer_is_named_missing(stand_ins: StandIns) -> None:
    report = await report_for(UNREACHABLE_BROKER, stand_ins)
    assert report.partial == ["rabbitmq"]
    assert not report.in_memory_bus
