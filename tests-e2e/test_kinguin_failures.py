"""Kinguin's unhappy paths through five service processes, both sandboxes, real RabbitMQ
and PostgreSQL, with a short fulfillment deadline:

- Kinguin refuses the purchase (sold out meanwhile): the order fails having bought
  nothing; after the restock an admin's retry buys it once and it is emailed once;
- Kinguin cancels the bought order: the retry buys a replacement under `<order id>-2`,
  leaving exactly one live Kinguin order and one email;
- a preorder outlives the deadline: the customer is told once, with the release date,
  and gets the keys when Kinguin releases them;
- a multi-line order (two products, 2 + 1 keys, text and image keys) reveals every key;
- every Kinguin webhook is lost: fulfillment's polls, sent over the bus to the gateway,
  find the completed order, and the customer gets the keys once.
"""

import json
from typing import Any

import httpx
import pytest
from five_processes import SHORT_SETTINGS, Servers, wait_for
from shop import Shop, reveal

HADES = "5c9b5f6b2539a4e8f172916a"
MINECRAFT = "5c9b6f0d2539a4e8f17ab8e2"
PREORDER = "5c9b7a1e2539a4e8f1800001"
KINGUIN_PRODUCTS = {
    HADES: {"name": "Hades Steam CD Key", "price": "2.50", "stock": 1000, "kinguinId": 1949},
    MINECRAFT: {"name": "Minecraft Java Key", "price": "19.99", "stock": 500, "kinguinId": 10384},
    PREORDER: {
        "name": "Hollow Knight: Silksong (preorder)",
        "price": "15.00",
        "stock": 50,
        "kinguinId": 90001,
        "isPreorder": True,
        "releaseDate": "2027-03-01",
    },
}
CATALOG = {
    "hades": (HADES, "24.99", "20.00"),
    "minecraft": (MINECRAFT, "29.99", "25.00"),
    "silksong": (PREORDER, "19.99", "18.00"),
}
SETTINGS = {
    **SHORT_SETTINGS,
    # The deadline, short: a preorder must outlive it.
    "MAX_AGE_SECONDS": "12",
    "FIRST_POLL_SECONDS": "1",
    "MAX_POLL_INTERVAL_SECONDS": "3",
}


async def retry(shop: Shop, order_id: str, session: dict[str, str]) -> dict[str, Any]:
    answer = await shop.http.post(
        f"{shop.url['admin']}/admin/api/orders/{order_id}/retry", headers=session
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["result"])


async def key_email_arrives(shop: Shop, address: str) -> None:
    async def emailed() -> bool:
        return shop.key_emails_to(address) >= 1

    await wait_for(emailed, f"the key email to {address}")


async def sold_out_then_retried(shop: Shop, session: dict[str, str]) -> str:
    """Kinguin refuses to sell (ProductUnavailable) although its catalog showed stock at
    checkout; restocked, an admin retries."""
    await shop.kinguin("POST", "/sandbox/faults", {"out_of_stock": [HADES]})
    order_id = await shop.place("restock@example.com")
    await shop.wait_state(order_id, "failed", "the sold-out order failing")
    assert await shop.kinguin_orders(order_id) == 0
    await shop.kinguin("POST", "/sandbox/faults", {"out_of_stock": []})
    answer = await retry(shop, order_id, session)
    assert (answer["previous_state"], answer["state"]) == ("failed", "reserving"), answer
    assert answer["summary"].startswith("Requested — still reserving")
    await shop.fulfilled(order_id, "the retried order being fulfilled")
    [live] = await shop.live_kinguin_orders(order_id)
    assert live["orderExternalId"] == f"{order_id}-2"
    again = await shop.http.post(
        f"{shop.url['admin']}/admin/api/orders/{order_id}/retry", headers=session
    )
    assert (again.status_code, again.json()["error"]) == (409, "not_failed"), again.text
    await key_email_arrives(shop, "restock@example.com")
    return order_id


async def canceled_then_retried(shop: Shop, session: dict[str, str]) -> str:
    """Kinguin cancels the bought order before delivering it; an admin retries."""
    await shop.kinguin("POST", "/sandbox/config", {"hold_completion": True})
    order_id = await shop.place("canceled@example.com")
    await shop.wait_state(order_id, "reserved", "the order being bought")
    await shop.kinguin("POST", "/sandbox/config", {"hold_completion": False})
    [bought] = await shop.kinguin_ledger(order_id)
    await shop.kinguin("POST", f"/sandbox/orders/{bought['orderId']}/cancel")
    await shop.wait_state(order_id, "failed", "the canceled order failing")
    answer = await retry(shop, order_id, session)
    assert answer["state"] == "reserving", answer
    await shop.fulfilled(order_id, "the replacement being fulfilled")
    ledger = await shop.kinguin_ledger(order_id)
    assert sorted((e["orderExternalId"], e["status"]) for e in ledger) == [
        (order_id, "canceled"),
        (f"{order_id}-2", "completed"),
    ]
    await key_email_arrives(shop, "canceled@example.com")
    return order_id


async def preorder_released_after_the_deadline(shop: Shop) -> str:
    """A preorder stays processing at Kinguin past the deadline: never failed; the
    customer hears once, then gets the keys on release."""
    address = "preorder@example.com"
    order_id = await shop.place(address, [{"sku": "silksong", "qty": 1}])
    await shop.wait_state(order_id, "reserved", "the preorder being bought")

    async def told() -> bool:
        return len(shop.delay_notices_to(address)) >= 1

    await wait_for(told, "the delay notice past the deadline", timeout=60)
    assert shop.delay_notices_to(address) == ["Your BitLoot preorder: keys on 1 March 2027"]
    assert await shop.saga_state(order_id) == "reserved"
    [bought] = await shop.kinguin_ledger(order_id)
    assert (bought["status"], bought["isPreorder"]) == ("processing", True)
    await shop.kinguin("POST", f"/sandbox/products/{PREORDER}/release")
    await shop.fulfilled(order_id, "the released preorder being fulfilled")
    await key_email_arrives(shop, address)
    return order_id


async def two_products_text_and_image_keys(shop: Shop) -> str:
    """Two lines, 2 + 1 keys; every third key the sandbox issues is an image."""
    address = "multi@example.com"
    lines = [{"sku": "hades", "qty": 2}, {"sku": "minecraft", "qty": 1}]
    order_id = await shop.place(address, lines)
    await shop.fulfilled(order_id, "the two-line order being fulfilled")
    await key_email_arrives(shop, address)
    [bought] = await shop.kinguin_ledger(order_id)
    keys = bought["keys"]
    assert sorted(k["productId"] for k in keys) == sorted([HADES, HADES, MINECRAFT])
    assert any(k["type"] == "text/plain" for k in keys)
    assert any(k["type"].startswith("image/") for k in keys), [k["type"] for k in keys]
    [mail] = [m for m in shop.inbox.messages if address in m.recipients]
    page = await reveal(shop.http, mail)
    for key in keys:
        assert str(key["serial"]) in page, key["type"]
    return order_id


async def webhooks_lost(shop: Shop) -> str:
    """Kinguin completes the order but none of its webhooks reaches the gateway: only
    the polls (fulfillment's timer → `reservation.poll` → the gateway's look-up) can
    tell fulfillment that the keys are ready."""
    address = "no-webhook@example.com"
    config = await shop.kinguin("GET", "/sandbox/config")
    await shop.kinguin("POST", "/sandbox/config", {"webhook_url": None})
    try:
        order_id = await shop.place(address)
        await shop.fulfilled(order_id, "the order being fulfilled by polling alone")
        await key_email_arrives(shop, address)
    finally:
        await shop.kinguin("POST", "/sandbox/config", {"webhook_url": config["webhook_url"]})
    [bought] = await shop.kinguin_ledger(order_id)
    assert (bought["status"], bought["webhooks"]) == ("completed", [])
    return order_id


@pytest.mark.slow
async def test_kinguin_refusals_cancels_preorders_multi_line_orders_and_lost_webhooks_end_with_keys(
    servers: Servers,
) -> None:
    async with (
        servers.start(
            SETTINGS, {"PRODUCTS": json.dumps(KINGUIN_PRODUCTS), "IMAGE_KEYS_EVERY": "3"}
        ) as running,
        httpx.AsyncClient(timeout=15) as http,
    ):
        shop = Shop(running, http, servers.smtp_inbox)
        await shop.seed(CATALOG)
        session = await shop.admin_session()
        orders = {
            "restock@example.com": await sold_out_then_retried(shop, session),
            "canceled@example.com": await canceled_then_retried(shop, session),
            "preorder@example.com": await preorder_released_after_the_deadline(shop),
            "multi@example.com": await two_products_text_and_image_keys(shop),
            "no-webhook@example.com": await webhooks_lost(shop),
        }
        for address, order_id in orders.items():
            assert shop.key_emails_to(address) == 1, address
            assert len(await shop.live_kinguin_orders(order_id)) == 1, address
        assert shop.delay_notices_to("preorder@example.com") == [
            "Your BitLoot preorder: keys on 1 March 2027"
        ]
