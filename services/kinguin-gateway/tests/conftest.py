"""Fixtures of the gateway's tests: a stand-in Kinguin, the gateway on the real bus."""

from collections.abc import AsyncIterator

import httpx
import pytest
from kinguin_gateway_support import (
    Gateway,
    StandInKinguin,
    gateway_settings,
    track,
)

from bitloot_kinguin_gateway.bootstrap import build
from bitloot_runtime.sealing import generate_key_pair, load_private_key
from bitloot_sandbox_common.serving import serve
from bitloot_testing.rabbitmq import BusNamespace


@pytest.fixture
def kinguin() -> StandInKinguin:
    return StandInKinguin()


@pytest.fixture
async def gateway(
    kinguin: StandInKinguin, database_url: str, bus_prefix: BusNamespace
) -> AsyncIterator[Gateway]:
    private, public = generate_key_pair()
    async with serve(kinguin.app, "127.0.0.1", 0) as kinguin_url:
        runtime, app = build(gateway_settings(database_url, bus_prefix, kinguin_url, public))
        track(runtime, bus_prefix)
        await runtime.start()
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield Gateway(runtime, http, bus_prefix, {"d1": load_private_key(private)})
        finally:
            await runtime.stop()
