"""reservation.requested priced from the catalog the gateway keeps: no product read when
the catalog's reading is fresh, Kinguin's live price whenever the catalog's cannot decide,
and never a purchase above the order's maximum."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from aio_pika.abc import AbstractIncomingMessage
from kinguin_gateway_support import COUNTER_STRIKE, Gateway, Kinguin, published, request
from sqlalchemy import text

from bitloot_contracts.events import ProductListed
from bitloot_kinguin_gateway.adapters.products import ProductRepository
from bitloot_kinguin_gateway.domain.product import Availability
from bitloot_testing.bus import eventually

PRODUCT_READ = f"GET /v2/products/{COUNTER_STRIKE}"


async def cataloged(gateway: Gateway, price: str, *, qty: int = 100) -> None:
    """The catalog lists Counter-Strike and read it just now at `price`."""
    now = datetime.now(UTC)
    async with gateway.runtime.unit_of_work() as uow:
        repository = ProductRepository(uow)
        await repository.set_listed(COUNTER_STRIKE, watched=True, listed_at=now)
        await repository.record(
            COUNTER_STRIKE, Availability(qty, Decimal(price), False, None), now, synced=True
        )
        await uow.commit()


async def reserved(
    gateway: Gateway, maximum: str, outcome: str = "reservation.created"
) -> dict[str, object]:
    """Ask the gateway for Counter-Strike keys at most `maximum` each; the body of the one
    `outcome` it publishes (and, for a created reservation, no failure beside it)."""
    async with gateway.spy() as spy:
        await gateway.publish(request(uuid4(), maximum=maximum))
        seen: list[AbstractIncomingMessage] = []
        [message] = await published(spy, outcome, 1, seen)
        if outcome == "reservation.created":
            assert await published(spy, "reservation.failed", 0, seen) == []
    body: dict[str, object] = json.loads(message.body)
    return body


async def test_a_fresh_catalog_price_is_offered_without_reading_the_product(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    await cataloged(gateway, "2.50")
    created = await reserved(gateway, maximum="9.00")
    [order] = kinguin.orders
    assert created["kinguin_order_id"] == order.order_id
    assert [line.request_price for line in order.lines] == [Decimal("2.50")]
    assert kinguin.calls(PRODUCT_READ) == 0
    assert kinguin.calls("POST /v2/order") == 1


async def test_a_catalog_price_behind_a_rise_is_refused_then_bought_once_at_the_live_price(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    await cataloged(gateway, "2.50")
    kinguin.sandbox.change_product(COUNTER_STRIKE, price=Decimal("2.80"))
    created = await reserved(gateway, maximum="3.00")
    [order] = kinguin.orders
    assert created["kinguin_order_id"] == order.order_id
    assert [line.request_price for line in order.lines] == [Decimal("2.80")]
    assert kinguin.calls(PRODUCT_READ) == 1
    assert kinguin.calls("POST /v2/order") == 2


async def test_a_rise_above_the_maximum_since_the_catalog_read_fails_without_buying(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    await cataloged(gateway, "2.50")
    kinguin.sandbox.change_product(COUNTER_STRIKE, price=Decimal("3.50"))
    failed = await reserved(gateway, maximum="3.00", outcome="reservation.failed")
    assert failed["code"] == "price_above_maximum"
    assert kinguin.orders == []
    assert kinguin.calls("POST /v2/order") == 1


async def test_a_catalog_price_above_the_maximum_is_checked_live_before_it_may_fail(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    await cataloged(gateway, "3.50")
    await reserved(gateway, maximum="3.00")
    [order] = kinguin.orders
    assert [line.request_price for line in order.lines] == [Decimal("2.50")]
    assert kinguin.calls(PRODUCT_READ) == 1
    assert kinguin.calls("POST /v2/order") == 1


async def test_an_out_of_stock_catalog_entry_is_not_trusted(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    await cataloged(gateway, "2.50", qty=0)
    await reserved(gateway, maximum="3.00")
    assert kinguin.calls(PRODUCT_READ) == 1
    assert kinguin.calls("POST /v2/order") == 1


async def test_a_catalog_reading_older_than_twice_the_sync_period_is_not_trusted(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    await cataloged(gateway, "2.50")
    async with gateway.runtime.engine.begin() as connection:
        # The default sync period is 300 s: a reading of 601 s ago is too old.
        await connection.execute(
            text("UPDATE products SET synced_at = now() - interval '601 seconds'")
        )
    await reserved(gateway, maximum="3.00")
    assert kinguin.calls(PRODUCT_READ) == 1


async def test_a_product_listed_after_a_sync_round_is_read_within_seconds_and_then_trusted(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    # The gateway reads its watched products every 300 s; none was listed at its start.
    listing = ProductListed(kinguin_product_id=COUNTER_STRIKE, active=True)
    await gateway.publish(listing)
    assert await eventually(lambda: gateway.handled(listing), timeout=20)

    async def read() -> bool:
        async with gateway.runtime.unit_of_work() as uow:
            return bool(await ProductRepository(uow).prices([COUNTER_STRIKE], 600))

    assert await eventually(read, timeout=20)
    assert kinguin.calls(PRODUCT_READ) == 1
    await reserved(gateway, maximum="3.00")
    assert kinguin.calls(PRODUCT_READ) == 1
