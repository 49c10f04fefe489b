"""Watching the catalog's Kinguin products: listings from payments, product.update
webhooks as Kinguin documents them (what each decides, on the in-memory repositories),
and the periodic reading of each product."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from kinguin_gateway_fakes import FakeGatewayWork
from kinguin_gateway_support import (
    COUNTER_STRIKE,
    HOLLOW_KNIGHT,
    WEBHOOK_SECRET,
    Gateway,
    Kinguin,
    published,
    started_gateway,
)
from sqlalchemy import select

from bitloot_contracts.events import ProductAvailabilityChanged, ProductListed
from bitloot_kinguin_gateway.adapters.orm import products
from bitloot_kinguin_gateway.handlers.catalog import ApplyListing, ApplyProductUpdate, ProductUpdate
from bitloot_runtime.signatures import hmac_sha512_hex
from bitloot_testing.bus import Spy, eventually
from bitloot_testing.rabbitmq import BusNamespace

AVAILABILITY = "product.availability_changed"
T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def product_update(product_id: str, qty: int, at: datetime) -> bytes:
    """A `product.update` body exactly as features/Webhooks.md shows it."""
    body = {
        "kinguinId": 1949,
        "productId": product_id,
        "qty": qty,
        "textQty": qty,
        "cheapestOfferId": ["611222acff9ca40001f0b020"],
        "updatedAt": at.isoformat(timespec="milliseconds"),
    }
    return json.dumps(body).encode()


async def post_update(gateway: Gateway, body: bytes) -> None:
    """Posted the way Kinguin signs it: X-KINGUIN-SIGNATURE over the raw body."""
    headers = {
        "X-Event-Name": "product.update",
        "Content-Type": "application/json",
        "X-KINGUIN-SIGNATURE": hmac_sha512_hex(WEBHOOK_SECRET, body),
    }
    response = await gateway.http.post("/kinguin/webhooks", content=body, headers=headers)
    assert (response.status_code, response.content) == (204, b"")


async def listed(gateway: Gateway, product_id: str, *, active: bool = True) -> None:
    event = ProductListed(kinguin_product_id=product_id, active=active)
    await gateway.publish(event)
    assert await eventually(lambda: gateway.handled(event), timeout=20)


async def bodies(spy: Spy, count: int, seen: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in await published(spy, AVAILABILITY, count, seen)]


@pytest.fixture
async def syncing(
    kinguin: Kinguin, database_url: str, bus_prefix: BusNamespace
) -> AsyncIterator[Gateway]:
    """The gateway reading its watched products every 0.3 s."""
    async with started_gateway(
        database_url, bus_prefix, kinguin.url, catalog_sync_seconds=0.3
    ) as started:
        yield started


async def updated(*updates: tuple[int, datetime], active: bool = True) -> FakeGatewayWork:
    """Counter-Strike listed (and unlisted unless `active`), then Kinguin's product.update
    of each (qty, updatedAt) in turn, on the in-memory repositories."""
    work = FakeGatewayWork()
    for watched in (True,) if active else (True, False):
        await ApplyListing()(ProductListed(kinguin_product_id=COUNTER_STRIKE, active=watched), work)
    for qty, at in updates:
        await ApplyProductUpdate()(ProductUpdate(COUNTER_STRIKE, qty, at), b"{}", {}, work)
    await work.commit()
    return work


def notes(work: FakeGatewayWork) -> list[tuple[bool, str | None]]:
    return [(row.applied, row.note) for row in work.webhooks.rows]


def changes(work: FakeGatewayWork) -> list[ProductAvailabilityChanged]:
    return [e for e in work.events if isinstance(e, ProductAvailabilityChanged)]


async def test_a_newer_product_update_is_applied_and_published_an_older_one_is_not() -> None:
    # Sent before the first, delivered after it: stale. A copy of the first: too.
    second = timedelta(seconds=1)
    work = await updated((0, T0), (7, T0 - second), (0, T0), (5, T0 + second))
    out, back = changes(work)
    assert (out.kinguin_product_id, out.qty, out.order_id) == (COUNTER_STRIKE, 0, None)
    assert out.observed_at == T0
    assert out.price is None  # a webhook carries no price, and none was read yet
    assert back.qty == 5
    assert notes(work) == [(True, None), (False, "stale"), (False, "stale"), (True, None)]


async def test_an_update_of_an_unchanged_quantity_publishes_nothing() -> None:
    work = await updated((4, T0), (4, T0 + timedelta(seconds=1)))
    assert len(changes(work)) == 1
    assert notes(work) == [(True, None), (True, None)]


async def test_a_product_no_longer_listed_is_not_applied() -> None:
    work = await updated((4, T0), active=False)
    assert notes(work) == [(False, "unwatched_product")]


async def test_the_periodic_sync_reads_price_and_stock_and_publishes_changes(
    syncing: Gateway, kinguin: Kinguin
) -> None:
    seen: list[Any] = []
    async with syncing.spy() as spy:
        await listed(syncing, HOLLOW_KNIGHT)
        [first] = await bodies(spy, 1, seen)
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                f"{kinguin.url}/sandbox/products/{HOLLOW_KNIGHT}/stock", json={"stock": 0}
            )
            assert answer.status_code == 200
        [_, emptied] = await bodies(spy, 2, seen)
    assert (first["qty"], Decimal(first["price"]), first["is_preorder"]) == (
        3,
        Decimal("4.99"),
        False,
    )
    assert (emptied["qty"], Decimal(emptied["price"])) == (0, Decimal("4.99"))
    # Rounds in between read the same state: nothing more was published.
    assert [m.routing_key for m in seen].count(AVAILABILITY) == 2
    async with syncing.runtime.engine.connect() as connection:
        row = (await connection.execute(select(products))).one()
    assert (row.qty, row.synced_at is not None) == (0, True)


async def test_a_webhook_newer_than_the_last_reading_wins_over_it(
    syncing: Gateway, kinguin: Kinguin
) -> None:
    seen: list[Any] = []
    async with syncing.spy() as spy:
        await listed(syncing, HOLLOW_KNIGHT)
        await bodies(spy, 1, seen)
        later = datetime.now(UTC) + timedelta(minutes=5)
        await post_update(syncing, product_update(HOLLOW_KNIGHT, 1, later))
        [_, update] = await bodies(spy, 2, seen)
        # Several more rounds of reading the (older) sandbox state change nothing.
        seen.extend(await spy.collect(expected=0, timeout=1.5))
    assert (update["qty"], Decimal(update["price"])) == (1, Decimal("4.99"))
    assert [m.routing_key for m in seen].count(AVAILABILITY) == 2


async def test_a_listed_product_kinguin_does_not_know_is_out_of_stock(syncing: Gateway) -> None:
    unknown = "5c9b5e5e2539a4e8f17270ff"
    seen: list[Any] = []
    async with syncing.spy() as spy:
        await listed(syncing, unknown)
        [gone] = await bodies(spy, 1, seen)
    assert (gone["kinguin_product_id"], gone["qty"], gone["price"]) == (unknown, 0, None)
