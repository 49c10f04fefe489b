"""The Kinguin client against a stand-in speaking Kinguin's format, in process."""

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from kinguin_gateway_support import API_KEY, StandInKinguin

from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinProduct
from bitloot_runtime.errors import PermanentError, TransientError


@pytest.fixture
async def client(kinguin: StandInKinguin) -> AsyncIterator[KinguinClient]:
    transport = httpx.ASGITransport(app=kinguin.app)
    async with httpx.AsyncClient(transport=transport) as http:
        yield KinguinClient("http://kinguin.test", API_KEY, http, backoff=0.01)


async def test_a_placed_order_is_found_again_by_our_external_id(client: KinguinClient) -> None:
    placed = await client.place_order("order-1", [KinguinProduct("prod-a", 2, Decimal("3"))])
    found = await client.find_by_external_id("order-1")
    assert found is not None
    assert (found.order_id, found.status) == (placed.order_id, "processing")
    assert await client.find_by_external_id("order-2") is None
    assert (await client.get_order(placed.order_id)).external_id == "order-1"


async def test_keys_are_read_page_by_page_until_a_short_page(
    client: KinguinClient, kinguin: StandInKinguin
) -> None:
    order = kinguin.place("order-1", {"prod-a": 9, "prod-b": 9, "prod-c": 9, "prod-d": 3})
    keys = await client.get_keys(order.order_id)
    assert [k.serial for k in keys] == [k["serial"] for k in order.keys]
    assert kinguin.calls.count(f"GET /v2/order/{order.order_id}/keys") == 2


async def test_a_429_is_retried_after_the_delay_kinguin_asks_for(
    client: KinguinClient, kinguin: StandInKinguin
) -> None:
    kinguin.faults = [(429, {"Retry-After": "0.05"}), (503, {})]
    assert await client.find_by_external_id("order-1") is None
    assert kinguin.calls.count("GET /v1/order") == 3


async def test_kinguin_still_failing_after_a_few_attempts_is_a_transient_error(
    client: KinguinClient, kinguin: StandInKinguin
) -> None:
    kinguin.faults = [(503, {})] * 5
    with pytest.raises(TransientError):
        await client.find_by_external_id("order-1")
    assert kinguin.calls.count("GET /v1/order") == 3


async def test_a_5xx_on_placing_is_not_repeated_because_the_order_may_exist(
    client: KinguinClient, kinguin: StandInKinguin
) -> None:
    kinguin.faults = [(502, {})]
    with pytest.raises(TransientError):
        await client.place_order("order-1", [KinguinProduct("prod-a", 1, Decimal("3"))])
    assert kinguin.calls.count("POST /v2/order") == 1


async def test_kinguin_refusing_an_order_is_a_permanent_error_named_after_its_kind(
    client: KinguinClient,
) -> None:
    with pytest.raises(PermanentError) as unavailable:
        await client.place_order("order-1", [KinguinProduct("gone", 1, Decimal("3"))])
    assert unavailable.value.code == "product_unavailable"
    with pytest.raises(PermanentError) as too_cheap:
        await client.place_order("order-1", [KinguinProduct("prod-b", 1, Decimal("5"))])
    assert too_cheap.value.code == "constraint_violation"


async def test_a_wrong_api_key_is_retried_later_not_a_failed_order(kinguin: StandInKinguin) -> None:
    transport = httpx.ASGITransport(app=kinguin.app)
    async with httpx.AsyncClient(transport=transport) as http:
        client = KinguinClient("http://kinguin.test", "wrong", http)
        with pytest.raises(TransientError):
            await client.find_by_external_id("order-1")
