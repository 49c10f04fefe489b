"""Fixtures of the gateway's tests: the Kinguin sandbox, the gateway on the real bus."""

from collections.abc import AsyncIterator

import pytest
from kinguin_gateway_support import Gateway, Kinguin, sandbox_config, started_gateway

from bitloot_sandbox_kinguin.server import running_app
from bitloot_testing.rabbitmq import BusNamespace


@pytest.fixture
async def kinguin() -> AsyncIterator[Kinguin]:
    async with running_app(sandbox_config()) as (url, app):
        yield Kinguin(url, app.state.sandbox)


@pytest.fixture
async def gateway(
    kinguin: Kinguin, database_url: str, bus_prefix: BusNamespace
) -> AsyncIterator[Gateway]:
    async with started_gateway(database_url, bus_prefix, kinguin.url) as started:
        yield started
