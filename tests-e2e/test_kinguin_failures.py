"""Kinguin's unhappy paths through five service processes, both sandboxes, real RabbitMQ
and PostgreSQL: an order Kinguin cannot sell fails having bought nothing, and an admin's
retry after the restock buys it once and emails it once."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from five_processes import SHORT_SETTINGS, five_processes, wait_for
from shop import Shop

from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.s3 import S3Server
from bitloot_testing.smtp import SmtpServer

HADES = "5c9b5f6b2539a4e8f172916a"
PRODUCT = {
    "title": "Hades (Steam)",
    "kinguin_product_id": HADES,
    "price": "24.99",
    "currency": "usd",
    "max_purchase_price": "20.00",
    "active": True,
}


async def sold_out_at_purchase(shop: Shop, product_ids: list[str]) -> None:
    """Kinguin refuses to sell these (ProductUnavailable) although its catalog showed
    stock at checkout: the last keys went to another buyer in between."""
    answer = await shop.http.post(
        f"{shop.url['kinguin-sandbox']}/sandbox/faults", json={"out_of_stock": product_ids}
    )
    assert answer.status_code == 200, answer.text


async def failed(shop: Shop, order_id: str, what: str) -> None:
    async def done() -> bool:
        return await shop.saga_state(order_id) == "failed"

    await wait_for(done, what, timeout=90)


async def retry(shop: Shop, order_id: str, session: dict[str, str]) -> dict[str, Any]:
    answer = await shop.http.post(
        f"{shop.url['admin']}/admin/api/orders/{order_id}/retry", headers=session
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["result"])


async def out_of_stock_then_restocked(shop: Shop, session: dict[str, str]) -> str:
    """Kinguin has none: the order fails with nothing bought; restock, retry, delivered."""
    await sold_out_at_purchase(shop, [HADES])
    order_id = await shop.place("restock@example.com")
    await failed(shop, order_id, "the out-of-stock order failing")
    assert await shop.kinguin_orders(order_id) == 0
    assert shop.emails_to("restock@example.com") == 0
    await sold_out_at_purchase(shop, [])
    answer = await retry(shop, order_id, session)
    assert answer["state"] == "reserving", answer
    assert "still reserving" in answer["summary"]
    await shop.fulfilled(order_id, "the retried order being fulfilled")
    [live] = await shop.live_kinguin_orders(order_id)
    assert live["orderExternalId"] == f"{order_id}-2"
    # A second retry of a fulfilled order is refused and buys nothing.
    again = await shop.http.post(
        f"{shop.url['admin']}/admin/api/orders/{order_id}/retry", headers=session
    )
    assert again.status_code == 409, again.text
    return order_id


@pytest.mark.slow
async def test_an_out_of_stock_order_is_bought_once_after_a_restock_and_a_retry(
    tmp_path: Path,
    database_factory: Callable[[str], Awaitable[str]],
    bus_prefix: BusNamespace,
    s3_server: S3Server,
    s3_bucket: str,
    smtp_inbox: SmtpServer,
) -> None:
    async with (
        five_processes(
            tmp_path, database_factory, bus_prefix, s3_server, s3_bucket, smtp_inbox, SHORT_SETTINGS
        ) as running,
        httpx.AsyncClient(timeout=15) as http,
    ):
        shop = Shop(running, http, smtp_inbox)
        seeded = await http.put(
            f"{running.url['payments']}/internal/products/hades",
            json=PRODUCT,
            headers=running.internal,
        )
        assert seeded.status_code == 200, seeded.text
        session = await shop.admin_session()
        restocked = await out_of_stock_then_restocked(shop, session)

        async def emailed() -> bool:
            return shop.emails_to("restock@example.com") >= 1

        await wait_for(emailed, "the key email after the retry")
        assert shop.emails_to("restock@example.com") == 1
        assert len(await shop.live_kinguin_orders(restocked)) == 1
