"""One Kinguin rate limit for every replica: two gateways, real processes on one database,
are given far more purchases than the limit allows; the calls Kinguin (the sandbox)
receives, counted per window, stay within the one limit, not twice it."""

import asyncio
import math
from pathlib import Path
from uuid import uuid4

import pytest
from gateway_processes import gateway_processes, publish
from kinguin_gateway_support import API_KEY, most_in_any_window, request

from bitloot_kinguin_gateway.adapters.rate_limit import Gcra
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_sandbox_kinguin.server import running_app
from bitloot_testing.rabbitmq import BusNamespace

PER_MINUTE, BURST = 60, 5
# Two purchases at a time per gateway: enough to keep a slot always asked for, few enough
# that each purchase's second call comes soon after its first. With the default prefetch
# (16), one gateway's first calls could book every slot of the watch, so that the other
# bought nothing and the last assertion failed (CI of 8b2b730).
LIMIT = {
    "KINGUIN_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
    "KINGUIN_RATE_LIMIT_BURST": str(BURST),
    "PREFETCH": "2",
}
# Each purchase is two calls (the live price, the order): 80 calls, over a minute's worth.
PURCHASES = 40
WATCH_SECONDS = 20.0


def allowed(window: float) -> int:
    """The most calls one limit lets start in `window` seconds, plus one: calls leave
    when their slot comes, but reach Kinguin after a delay that varies a little."""
    return BURST + math.floor(window / Gcra(PER_MINUTE, BURST).interval) + 1


@pytest.mark.slow
async def test_two_gateways_together_stay_within_one_kinguin_rate_limit(
    database_url: str, bus_prefix: BusNamespace, tmp_path: Path
) -> None:
    config = KinguinSandboxConfig(api_key=API_KEY, port=0, webhook_delay=0.05)
    async with (
        running_app(config) as (kinguin_url, app),
        gateway_processes(database_url, bus_prefix, kinguin_url, tmp_path, LIMIT) as start,
    ):
        throttle = app.state.sandbox.throttle
        gateways = [start(), start()]
        await asyncio.gather(*(gateway.ready() for gateway in gateways))
        await publish(bus_prefix, *(request(uuid4()) for _ in range(PURCHASES)))
        await asyncio.sleep(WATCH_SECONDS)
        arrivals = list(throttle.arrivals)
        for gateway in gateways:
            await gateway.killed()
    limits = {window: allowed(window) for window in (1, 5, 10, 20)}
    busiest = {window: most_in_any_window(arrivals, window) for window in limits}
    assert all(busiest[w] <= limits[w] for w in limits), f"{busiest=} {limits=}"
    # The work outran the limit: the limit, not the work, set the pace.
    assert len(arrivals) >= 0.75 * allowed(WATCH_SECONDS), f"{busiest=} {limits=}"
    # Both gateways bought (each log says so), so both drew from the one limit.
    for n in range(2):
        assert "kinguin order placed" in (tmp_path / f"kinguin-gateway-{n}.log").read_text()
