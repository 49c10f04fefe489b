"""``GET /internal/balance`` and the balance gauges of the gateway as bootstrap builds it,
its balance watch running against the Kinguin sandbox."""

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from kinguin_gateway_support import INTERNAL_TOKEN, Gateway, Kinguin, started_gateway

from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

TOKEN = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}


@pytest.fixture
async def watching(
    kinguin: Kinguin, database_url: str, bus_prefix: BusNamespace
) -> AsyncIterator[Gateway]:
    """The gateway reading the balance every 0.1 s, low under 100.50 EUR."""
    kinguin.sandbox.store.balance = Decimal("300.25")
    changes = {"balance_poll_seconds": 0.1, "balance_low": "100.50"}
    async with started_gateway(database_url, bus_prefix, kinguin.url, **changes) as started:
        yield started


async def balance(gateway: Gateway) -> dict[str, Any]:
    answer = await gateway.http.get("/internal/balance", headers=TOKEN)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def shows(gateway: Gateway, **expected: object) -> dict[str, Any]:
    """The balance once it shows `expected` (the watch reads it on its own schedule)."""
    last: dict[str, Any] = {}

    async def matches() -> bool:
        last.update(await balance(gateway))
        return all(last[name] == value for name, value in expected.items())

    assert await eventually(matches, timeout=10), last
    return last


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_the_balance_is_answered_to_the_internal_token_only(watching: Gateway) -> None:
    refused = await watching.http.get("/internal/balance")
    assert refused.status_code == 401
    body = await shows(watching, balance_eur="300.25")
    assert body["low"] is False
    assert body["threshold_eur"] == "100.5"
    assert body["read_at"] is not None
    assert (body["stale"], body["error"], body["detail"], body["failed_at"]) == (
        False,
        None,
        None,
        None,
    )
    assert body["poll_seconds"] == 0.1


async def test_the_gauges_follow_the_balance_below_the_threshold_and_back(
    watching: Gateway, kinguin: Kinguin
) -> None:
    await shows(watching, balance_eur="300.25")
    kinguin.sandbox.store.balance = Decimal("100.49")
    await shows(watching, balance_eur="100.49", low=True)
    text = (await watching.http.get("/metrics")).text
    assert 'bitloot_kinguin_balance_eur{service="kinguin-gateway"} 100.49' in text
    assert metric(text, "bitloot_kinguin_balance_low") == 1
    assert metric(text, "bitloot_kinguin_balance_threshold_eur") == 100.5

    kinguin.sandbox.store.balance = Decimal(1000)
    await shows(watching, balance_eur="1000", low=False)
    text = (await watching.http.get("/metrics")).text
    assert metric(text, "bitloot_kinguin_balance_low") == 0


async def test_kinguin_failing_leaves_the_last_balance_stale_and_the_service_alive(
    watching: Gateway, kinguin: Kinguin
) -> None:
    first = await shows(watching, balance_eur="300.25")
    kinguin.sandbox.faults.update({"fail_next": 1000})
    stale = await shows(watching, error="kinguin_unavailable")
    assert (stale["balance_eur"], stale["read_at"], stale["stale"]) == (
        "300.25",
        first["read_at"],
        True,
    )
    assert stale["failed_at"] > stale["read_at"]
    assert (await watching.http.get("/healthz")).status_code == 200

    kinguin.sandbox.faults.reset()
    kinguin.sandbox.store.balance = Decimal(50)
    await shows(watching, balance_eur="50", low=True, error=None, stale=False)


async def test_a_gateway_that_never_read_the_balance_says_so(
    kinguin: Kinguin, database_url: str, bus_prefix: BusNamespace
) -> None:
    async with started_gateway(
        database_url, bus_prefix, kinguin.url, kinguin_api_key="a-revoked-api-key"
    ) as gateway:
        body = await shows(gateway, error="kinguin_access_denied")
        text = (await gateway.http.get("/metrics")).text
    assert (body["balance_eur"], body["low"], body["read_at"], body["stale"]) == (
        None,
        None,
        None,
        False,
    )
    assert metric(text, "bitloot_kinguin_balance_eur") is None
    assert metric(text, "bitloot_kinguin_balance_threshold_eur") == 100
