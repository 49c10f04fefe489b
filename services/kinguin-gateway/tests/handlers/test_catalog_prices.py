"""reservation.requested priced from the catalog the gateway keeps: no product read when
the catalog's reading is fresh, Kinguin's live price whenever the catalog's cannot decide,
and never a purchase above the order's maximum."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
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


@pytest.mark.parametrize(
    ("catalog", "qty", "live", "maximum", "bought_at", "reads", "posts"),
    [
        # A fresh catalog price is offered without reading the product.
        ("2.50", 100, None, "9.00", "2.50", 0, 1),
        # A catalog price behind a rise is refused, then bought once at the live price.
        ("2.50", 100, "2.80", "3.00", "2.80", 1, 2),
        # A catalog price above the maximum is checked live before it may fail.
        ("3.50", 100, None, "3.00", "2.50", 1, 1),
        # An out-of-stock catalog entry is not trusted.
        ("2.50", 0, None, "3.00", None, 1, 1),
    ],
    ids=["fresh", "behind_a_rise", "above_the_maximum", "out_of_stock"],
)
async def test_a_catalog_price_is_trusted_only_when_it_can_decide(
    gateway: Gateway,
    kinguin: Kinguin,
    catalog: str,
    qty: int,
    live: str | None,
    maximum: str,
    bought_at: str | None,
    reads: int,
    posts: int,
) -> None:
    await cataloged(gateway, catalog, qty=qty)
    if live is not None:
        kinguin.sandbox.change_product(COUNTER_STRIKE, price=Decimal(live))
    created = await reserved(gateway, maximum=maximum)
    if bought_at is not None:
        [order] = kinguin.orders
        assert created["kinguin_order_id"] == order.order_id
        assert [line.request_price for line in order.lines] == [Decimal(bought_at)]
    assert kinguin.calls(PRODUCT_READ) == reads
    assert kinguin.calls("POST /v2/order") == posts


async def test_a_rise_above_the_maximum_since_the_catalog_read_fails_without_buying(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    await cataloged(gateway, "2.50")
    kinguin.sandbox.change_product(COUNTER_STRIKE, price=Decimal("3.50"))
    failed = await reserved(gateway, maximum="3.00", outcome="reservation.failed")
    assert failed["code"] == "price_above_maximum"
    assert kinguin.orders == []
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
