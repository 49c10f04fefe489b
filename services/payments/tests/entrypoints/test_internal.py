"""The internal API the admin service reads: orders, timelines, the catalog."""

import json

import httpx
from payments_support import settled

from bitloot_payments.adapters.ipn_signature import sign
from bitloot_runtime.service import ServiceRuntime


async def place(client: httpx.AsyncClient, email: str) -> str:
    answer = await client.post(
        "/orders", json={"email": email, "lines": [{"sku": "g-2", "qty": 1}]}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["order_id"])


async def test_the_internal_api_needs_the_service_token(client: httpx.AsyncClient) -> None:
    answer = await client.get("/internal/orders", headers={"authorization": "Bearer wrong"})
    assert answer.status_code == 401


async def test_orders_are_listed_newest_first_by_page_and_filter(
    client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    ids = [await place(client, f"buyer{i}@example.com") for i in range(3)]
    first = (await admin.get("/internal/orders?limit=2")).json()
    assert [o["order_id"] for o in first["items"]] == [ids[2], ids[1]]
    assert first["items"][0]["total"] == "2.25"
    rest = await admin.get("/internal/orders", params={"limit": 2, "cursor": first["cursor"]})
    assert [o["order_id"] for o in rest.json()["items"]] == [ids[0]]
    assert (rest.json()["next"], rest.json()["cursor"]) == (None, None)
    by_time = await admin.get("/internal/orders", params={"limit": 2, "before": first["next"]})
    assert [o["order_id"] for o in by_time.json()["items"]] == [ids[0]]
    mine = await admin.get("/internal/orders", params={"email": "Buyer1@example.com"})
    assert [o["order_id"] for o in mine.json()["items"]] == [ids[1]]
    paid = await admin.get("/internal/orders?status=paid")
    assert paid.json()["items"] == []
    for bad in ("before=yesterday", "cursor=nonsense", "limit=101"):
        answer = await admin.get(f"/internal/orders?{bad}")
        assert answer.status_code == 422, bad


async def test_one_order_with_its_lines_or_404(
    client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    order_id = await place(client, "buyer@example.com")
    order = (await admin.get(f"/internal/orders/{order_id}")).json()
    # The admin shows the product's title; the customer's JSON keeps SKU and quantity.
    line = {"sku": "g-2", "qty": 1, "title": "Game g-2"}
    assert (order["status"], order["lines"]) == ("invoiced", [line])
    missing = await admin.get("/internal/orders/0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10")
    assert (missing.status_code, missing.json()["error"]) == (404, "order_not_found")


async def test_the_timeline_tells_the_story_of_the_payment(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id = await place(client, "buyer@example.com")
    for status, secret in [
        ("waiting", "ipn-secret-current"),
        ("finished", "forged"),
        ("finished", "ipn-secret-current"),
    ]:
        document = {
            "payment_id": 9,
            "payment_status": status,
            "order_id": order_id,
            "price_amount": 2.25,
            "price_currency": "usd",
            "pay_amount": 2.25,
            "actually_paid": 2.25 if status == "finished" else 0,
        }
        body = json.dumps(document).encode()
        headers = {"x-nowpayments-sig": sign(body, secret)}
        await client.post("/payments/ipn", content=body, headers=headers)
    await settled(runtime)
    answer = await admin.get(f"/internal/orders/{order_id}/timeline")
    items = answer.json()["items"]
    assert [i["kind"] for i in items] == [
        "order_created",
        "invoice_created",
        "ipn_received",
        "ipn_received",
        "ipn_received",
        "payment_finished",
    ]
    assert [i["data"].get("result") for i in items[2:5]] == ["applied", "invalid_signature", "paid"]
    assert items == sorted(items, key=lambda i: i["at"])
    empty = await admin.get("/internal/orders/0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10/timeline")
    assert empty.json()["items"] == []


async def test_products_are_upserted_and_listed(admin: httpx.AsyncClient) -> None:
    body = {
        "title": "New",
        "kinguin_product_id": "k-9",
        "price": "3.10",
        "currency": "usd",
        "max_purchase_price": "2",
        "active": False,
    }
    saved = await admin.put("/internal/products/g-1", json=body)
    assert saved.json()["price"] == "3.1"
    listed = (await admin.get("/internal/products")).json()["items"]
    [g1] = [p for p in listed if p["sku"] == "g-1"]
    assert (g1["title"], g1["active"]) == ("New", False)
    invalid = await admin.put("/internal/products/g-1", json={**body, "price": "-1"})
    assert invalid.status_code == 422


async def test_a_product_keeps_the_platform_its_keys_are_redeemed_on(
    admin: httpx.AsyncClient,
) -> None:
    body = {
        "title": "Gwent",
        "kinguin_product_id": "k-7",
        "price": "3.10",
        "currency": "usd",
        "max_purchase_price": "2",
        "platform": "GOG COM",
    }
    saved = await admin.put("/internal/products/g-7", json=body)
    assert saved.json()["platform"] == "GOG COM"
    too_long = {**body, "platform": "x" * 65}
    refused = await admin.put("/internal/products/g-7", json=too_long)
    assert (refused.status_code, refused.json()["fields"][0]["field"]) == (422, "platform")
    unsaid = {key: value for key, value in body.items() if key != "platform"}
    cleared = await admin.put("/internal/products/g-7", json=unsaid)
    listed = (await admin.get("/internal/products")).json()["items"]
    assert cleared.json()["platform"] is None
    assert [p["platform"] for p in listed if p["sku"] == "g-7"] == [None]
