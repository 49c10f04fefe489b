"""reservation.requested priced from the catalog the gateway keeps: no product read when
the catalog's reading is fresh, Kinguin's live price whenever the catalog's cannot decide,
and never a purchase above the order's maximum (business rules on the in-memory
repositories; the catalog reading's age on the real database and bus)."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from aio_pika.abc import AbstractIncomingMessage
from kinguin_gateway_fakes import FakeGatewayWork
from kinguin_gateway_support import COUNTER_STRIKE, Gateway, Kinguin, published, request
from sqlalchemy import text

from bitloot_contracts.events import Event, ProductListed, ReservationCreated, ReservationFailed
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient
from bitloot_kinguin_gateway.adapters.products import ProductRepository
from bitloot_kinguin_gateway.domain.product import Availability
from bitloot_kinguin_gateway.handlers.ports import Products
from bitloot_kinguin_gateway.handlers.reservations import Reserve
from bitloot_testing.bus import eventually

PRODUCT_READ = f"GET /v2/products/{COUNTER_STRIKE}"


async def cataloged(products: Products, price: str, *, qty: int = 100) -> None:
    """The catalog lists Counter-Strike and read it just now at `price`."""
    now = datetime.now(UTC)
    await products.set_listed(COUNTER_STRIKE, watched=True, listed_at=now)
    availability = Availability(qty, Decimal(price), False, None)
    await products.record(COUNTER_STRIKE, availability, now, synced=True)


async def reserved(gateway: Gateway, maximum: str) -> None:
    """Ask the gateway for Counter-Strike keys at most `maximum` each: it reserves them."""
    async with gateway.spy() as spy:
        await gateway.publish(request(uuid4(), maximum=maximum))
        seen: list[AbstractIncomingMessage] = []
        await published(spy, "reservation.created", 1, seen)
        assert await published(spy, "reservation.failed", 0, seen) == []


async def reserved_on_fakes(client: KinguinClient, work: FakeGatewayWork, maximum: str) -> Event:
    """The gateway's answer, on the in-memory repositories, to a request for Counter-Strike
    keys at most `maximum` each."""
    await Reserve(client, lambda: work)(request(uuid4(), maximum=maximum), work)
    await work.commit()
    [answer] = work.events
    return answer


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
    client: KinguinClient,
    kinguin: Kinguin,
    catalog: str,
    qty: int,
    live: str | None,
    maximum: str,
    bought_at: str | None,
    reads: int,
    posts: int,
) -> None:
    work = FakeGatewayWork()
    await cataloged(work.products, catalog, qty=qty)
    if live is not None:
        kinguin.sandbox.change_product(COUNTER_STRIKE, price=Decimal(live))
    created = await reserved_on_fakes(client, work, maximum)
    assert isinstance(created, ReservationCreated)
    if bought_at is not None:
        [order] = kinguin.orders
        assert created.kinguin_order_id == order.order_id
        assert [line.request_price for line in order.lines] == [Decimal(bought_at)]
    assert kinguin.calls(PRODUCT_READ) == reads
    assert kinguin.calls("POST /v2/order") == posts


async def test_a_rise_above_the_maximum_since_the_catalog_read_fails_without_buying(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    work = FakeGatewayWork()
    await cataloged(work.products, "2.50")
    kinguin.sandbox.change_product(COUNTER_STRIKE, price=Decimal("3.50"))
    failed = await reserved_on_fakes(client, work, "3.00")
    assert isinstance(failed, ReservationFailed)
    assert failed.code == "price_above_maximum"
    assert kinguin.orders == []
    assert kinguin.calls("POST /v2/order") == 1


async def test_a_catalog_reading_older_than_twice_the_sync_period_is_not_trusted(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    async with gateway.runtime.unit_of_work() as uow:
        await cataloged(ProductRepository(uow), "2.50")
        await uow.commit()
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
