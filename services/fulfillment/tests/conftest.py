"""Fixtures of the fulfillment tests: the service started on the real bus and database,
as one instance or several sharing both."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fulfillment_support import INTERNAL_TOKEN, Instances
from starlette.applications import Starlette

from bitloot_fulfillment.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_testing.rabbitmq import BusNamespace


@pytest.fixture
async def instances(database_url: str, bus_prefix: BusNamespace) -> AsyncIterator[Instances]:
    """Start fulfillment instances on this test's database and bus; all stopped after."""

    def settings(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "amqp_url": bus_prefix.amqp_url,
            "bus_prefix": bus_prefix.prefix,
            "retry_delays": (0.2, 0.5, 1.0),
            "outbox_poll_interval": 0.2,
            "internal_token": INTERNAL_TOKEN,
            "timer_sweep_interval": 0.1,
        }
        return load_settings(Settings, **(values | overrides))

    running = Instances(settings, bus_prefix)
    try:
        yield running
    finally:
        await running.stop_all()


@pytest.fixture
async def fulfillment_app(instances: Instances) -> tuple[ServiceRuntime, Starlette]:
    return await instances.start()


@pytest.fixture
def fulfillment(fulfillment_app: tuple[ServiceRuntime, Starlette]) -> ServiceRuntime:
    return fulfillment_app[0]
