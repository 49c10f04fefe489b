"""Checkout against what Kinguin has: the gateway's product.availability_changed, heard on
the real bus, refuses an order Kinguin cannot supply (409, nothing stored, no invoice);
the catalog tells the gateway which products to watch. Which lines Kinguin can supply is
the domain's (domain/test_availability)."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from payments_support import count_orders, scalar, watching
from sqlalchemy import func, select

from bitloot_contracts.events import ProductAvailabilityChanged
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tables import inbox
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

# g-1 is sold as k-g-1 at 12.50 usd, buying it from Kinguin for at most 9 (conftest).
T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


async def observed(
    runtime: ServiceRuntime, qty: int, price: str = "8.00", at: datetime = T0
) -> None:
    """The gateway reports what Kinguin has of k-g-1; wait until payments heard it."""
    event = ProductAvailabilityChanged(
        kinguin_product_id="k-g-1",
        qty=qty,
        price=Decimal(price),
        is_preorder=False,
        release_date=None,
        observed_at=at,
    )
    await runtime.publisher.publish(event)

    async def heard() -> bool:
        query = select(func.count()).where(inbox.c.message_id == str(event.event_id))
        return bool(await scalar(runtime, query))

    assert await eventually(heard, timeout=20)


async def order(client: httpx.AsyncClient, qty: int = 2) -> httpx.Response:
    body = {
        "email": "buyer@example.com",
        "lines": [{"sku": "g-2", "qty": 1}, {"sku": "g-1", "qty": qty}],
    }
    return await client.post("/orders", json=body)


def refusal(answer: httpx.Response) -> tuple[int, str, list[tuple[str, str, str]]]:
    body: dict[str, Any] = answer.json()
    return (
        answer.status_code,
        body["error"],
        [(f["field"], f["code"], f["sku"]) for f in body["fields"]],
    )


async def test_out_of_stock_is_refused_409_before_any_order_or_invoice_and_a_restock_sells(
    client: httpx.AsyncClient, runtime: ServiceRuntime, nowpayments: NowPaymentsSandbox
) -> None:
    await observed(runtime, qty=1)
    answer = await order(client, qty=2)
    assert refusal(answer) == (409, "out_of_stock", [("lines.1.sku", "out_of_stock", "g-1")])
    assert "'g-1'" in answer.json()["detail"]
    assert (await count_orders(runtime), len(nowpayments.store.invoices)) == (0, 0)
    await observed(runtime, qty=2, at=T0 + timedelta(seconds=1))
    assert (await order(client, qty=2)).status_code == 201
    assert (await count_orders(runtime), len(nowpayments.store.invoices)) == (1, 1)


async def test_the_catalog_shows_what_kinguin_has(
    runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    await observed(runtime, qty=4, price="8.5")
    items = (await admin.get("/internal/products")).json()["items"]
    shown = {item["sku"]: item["kinguin_availability"] for item in items}
    assert shown["g-2"] is None
    assert shown["g-1"] == {
        "qty": 4,
        "price_eur": "8.5",
        "is_preorder": False,
        "release_date": None,
        "observed_at": "2026-12-05T06:00:00+00:00",
    }


async def test_saving_a_product_tells_the_gateway_whether_its_kinguin_product_is_sold(
    runtime: ServiceRuntime,
    bus_prefix: BusNamespace,
    admin: httpx.AsyncClient,
) -> None:
    product = {
        "title": "New",
        "kinguin_product_id": "k-new",
        "price": "3",
        "currency": "usd",
        "max_purchase_price": "2",
    }
    async with watching(runtime, bus_prefix) as spy:
        for active in (True, False):
            answer = await admin.put("/internal/products/new", json={**product, "active": active})
            assert answer.status_code == 200
        messages = await spy.collect(expected=2, timeout=10)
    listed = [json.loads(m.body) for m in messages if m.routing_key == "catalog.product_listed"]
    assert [(b["kinguin_product_id"], b["active"], b["order_id"]) for b in listed] == [
        ("k-new", True, None),
        ("k-new", False, None),
    ]
