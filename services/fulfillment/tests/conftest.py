"""Fixtures of the fulfillment tests: the service started on the real bus and database."""

from collections.abc import AsyncIterator

import pytest
from fulfillment_support import INTERNAL_TOKEN
from starlette.applications import Starlette

from bitloot_fulfillment.bootstrap import build
from bitloot_fulfillment.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_testing.rabbitmq import BusNamespace


@pytest.fixture
async def fulfillment_app(
    database_url: str, bus_prefix: BusNamespace
) -> AsyncIterator[tuple[ServiceRuntime, Starlette]]:
    settings = load_settings(
        Settings,
        database_url=database_url,
        amqp_url=bus_prefix.amqp_url,
        bus_prefix=bus_prefix.prefix,
        retry_delays=(0.2, 0.5, 1.0),
        outbox_poll_interval=0.2,
        internal_token=INTERNAL_TOKEN,
    )
    runtime, app = build(settings)
    for name in runtime.topology.names("fulfillment", settings.retry_delays):
        bus_prefix.track_queue(name)
        bus_prefix.track_exchange(name)
    await runtime.start()
    yield runtime, app
    await runtime.stop()


@pytest.fixture
def fulfillment(fulfillment_app: tuple[ServiceRuntime, Starlette]) -> ServiceRuntime:
    return fulfillment_app[0]
