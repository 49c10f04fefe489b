"""Fixtures of the gateway's tests: the Kinguin sandbox, a client of it, the gateway on the
real bus."""

from collections.abc import AsyncIterator

import httpx
import pytest
from kinguin_gateway_support import API_KEY, Gateway, Kinguin, sandbox_config, started_gateway

from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient
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


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def client(kinguin: Kinguin, http: httpx.AsyncClient) -> KinguinClient:
    return KinguinClient(kinguin.url, API_KEY, http, backoff=0.01)
