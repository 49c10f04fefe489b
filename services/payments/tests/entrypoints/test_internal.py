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
    client: httpx.AsyncClient, internal_headers: dict[str, str]
) -> None:
    ids = [await place(client, f"buyer{i}@example.com") for i in range(3)]
    first = (await client.get("/internal/orders?limit=2", headers=internal_headers)).json()
    assert [o["order_id"] for o in first["items"]] == [ids[2], ids[1]]
    assert first["items"][0]["total"] == "2.25"
    rest = await client.get(
        "/internal/orders", params={"limit": 2, "cursor": first["cursor"]}, headers=internal_headers
    )
    assert [o["order_id"] for o in rest.json()["items"]] == [ids[0]]
    assert (rest.json()["next"], rest.json()["cursor"]) == (None, None)
    by_time = await client.get(
        "/internal/orders", params={"limit": 2, "before": first["next"]}, headers=internal_headers
    )
    assert [o["order_id"] for o in by_time.json()["items"]] == [ids[0]]
    mine = await client.get(
        "/internal/orders", params={"email": "Buyer1@example.com"}, headers=internal_headers
    )
    assert [o["order_id"] for o in mine.json()["items"]] == [ids[1]]
    paid = await client.get("/internal/orders?status=paid", headers=internal_headers)
    assert paid.json()["items"] == []
    for bad in ("before=yesterday", "cursor=nonsense", "limit=101"):
        answer = await client.get(f"/internal/orders?{bad}", headers=internal_headers)
        assert answer.status_code == 422, bad


async def test_one_order_with_its_lines_or_404(
    client: httpx.AsyncClient, internal_headers: dict[str, str]
) -> None:
    order_id = await place(client, "buyer@example.com")
    order = (await client.get(f"/internal/orders/{order_id}", headers=internal_headers)).json()
    # The admin shows the product's title; the customer's JSON keeps SKU and quantity.
    line = {"sku": "g-2", "qty": 1, "title": "Game g-2"}
    assert (order["status"], order["lines"]) == ("invoiced", [line])
    missing = await client.get(
        "/internal/orders/0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10", headers=internal_headers
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "order_not_found")


async def test_the_timeline_tells_the_story_of_the_payment(
    client: httpx.AsyncClient, runtime: ServiceRuntime, internal_headers: dict[str, str]
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
    answer = await client.get(f"/internal/orders/{order_id}/timeline", headers=internal_headers)
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
    empty = await client.get(
        "/internal/orders/0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10/timeline", headers=internal_headers
    )
    assert empty.json()["items"] == []


async def test_products_are_upserted_and_listed(
    client: httpx.AsyncClient, internal_headers: dict[str, str]
) -> None:
    body = {
        "title": "New",
        "kinguin_product_id": "k-9",
        "price": "3.10",
        "currency": "usd",
        "max_purchase_price": "2",
        "active": False,
    }
    saved = await client.put("/internal/products/g-1", json=body, headers=internal_headers)
    assert saved.json()["price"] == "3.1"
    listed = (await client.get("/internal/products", headers=internal_headers)).json()["items"]
    [g1] = [p for p in listed if p["sku"] == "g-1"]
    assert (g1["title"], g1["active"]) == ("New", False)
    invalid = await client.put(
        "/internal/products/g-1", json={**body, "price": "-1"}, headers=internal_headers
    )
    assert invalid.status_code == 422


async def test_a_product_keeps_the_platform_its_keys_are_redeemed_on(
    client: httpx.AsyncClient, internal_headers: dict[str, str]
) -> None:
    body = {
        "title": "Gwent",
        "kinguin_product_id": "k-7",
        "price": "3.10",
        "currency": "usd",
        "max_purchase_price": "2",
        "platform": "GOG COM",
    }
    saved = await client.put("/internal/products/g-7", json=body, headers=internal_headers)
    assert saved.json()["platform"] == "GOG COM"
    too_long = {**body, "platform": "x" * 65}
    refused = await client.put("/internal/products/g-7", json=too_long, headers=internal_headers)
    assert (refused.status_code, refused.json()["fields"][0]["field"]) == (422, "platform")
    unsaid = {key: value for key, value in body.items() if key != "platform"}
    cleared = await client.put("/internal/products/g-7", json=unsaid, headers=internal_headers)
    listed = (await client.get("/internal/products", headers=internal_headers)).json()["items"]
    assert cleared.json()["platform"] is None
    assert [p["platform"] for p in listed if p["sku"] == "g-7"] == [None]
