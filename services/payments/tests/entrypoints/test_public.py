"""Placing and viewing orders through the public edge."""

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import httpx
from payments_support import count_orders
from sqlalchemy import func, select

from bitloot_payments.adapters.orm import order_lines, orders
from bitloot_payments.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tokens import OrderTokenSigner, load_private_key
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox


async def place(client: httpx.AsyncClient, **changes: object) -> httpx.Response:
    body = {"email": " Buyer@Example.COM ", "lines": [{"sku": "g-1", "qty": 2}], **changes}
    return await client.post("/orders", json=body)


async def test_an_order_is_priced_from_the_catalog_and_invoiced(
    client: httpx.AsyncClient, nowpayments: NowPaymentsSandbox
) -> None:
    lines = [{"sku": "g-1", "qty": 2}, {"sku": "g-2", "qty": 1}]
    answer = await place(client, lines=lines)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["status"] == "invoiced"
    assert (created["total"], created["currency"]) == ("27.25", "usd")
    [invoice] = nowpayments.store.invoices.values()
    assert created["invoice_url"] == invoice.invoice_url
    assert invoice.order_id == created["order_id"]
    assert (invoice.price_amount, invoice.price_currency) == (Decimal("27.25"), "usd")
    assert invoice.ipn_callback_url == "https://shop.bitloot.test/payments/ipn"
    shop = f"https://shop.bitloot.test/orders/{created['order_id']}"
    assert (invoice.success_url, invoice.cancel_url) == (f"{shop}/paid", f"{shop}/cancelled")


async def test_the_order_token_opens_its_order_and_no_other(client: httpx.AsyncClient) -> None:
    first, second = (await place(client)).json(), (await place(client)).json()
    token = first["order_token"]
    answer = await client.get(
        f"/orders/{first['order_id']}", headers={"authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "order_id": first["order_id"],
        "status": "invoiced",
        "email": "buyer@example.com",
        "total": "25",
        "currency": "usd",
        "invoice_url": first["invoice_url"],
        "lines": [{"sku": "g-1", "qty": 2}],
        "payment_status": None,
        "fulfilment_state": None,
        "customer_status": "awaiting_payment",
    }
    by_query = await client.get(f"/orders/{first['order_id']}", params={"token": token})
    assert by_query.status_code == 200
    other = await client.get(f"/orders/{second['order_id']}", params={"token": token})
    assert (other.status_code, other.json()["error"]) == (403, "token_wrong_order")


async def test_an_order_cannot_be_seen_without_a_valid_token(client: httpx.AsyncClient) -> None:
    order_id = (await place(client)).json()["order_id"]
    missing = await client.get(f"/orders/{order_id}")
    assert (missing.status_code, missing.json()["error"]) == (401, "token_missing")
    forged = await client.get(f"/orders/{order_id}", params={"token": "not.a.jwt"})
    assert (forged.status_code, forged.json()["error"]) == (401, "token_invalid")


async def test_an_unknown_order_is_404_for_a_token_that_names_it(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    key = load_private_key(settings.order_token_private_key.get_secret_value())
    order_id = uuid4()
    token = OrderTokenSigner(settings.order_token_key_id, key, timedelta(hours=1)).issue(order_id)
    answer = await client.get(f"/orders/{order_id}", params={"token": token})
    assert (answer.status_code, answer.json()["error"]) == (404, "order_not_found")


async def test_invalid_orders_are_refused_field_by_field_and_nothing_is_stored(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    cases: dict[str, dict[str, object]] = {
        "email": {"email": "not-an-address"},
        "lines": {"lines": []},
        "lines.0.qty": {"lines": [{"sku": "g-1", "qty": 10}]},
        "lines.1.sku": {"lines": [{"sku": "g-1", "qty": 1}, {"sku": "nope", "qty": 1}]},
        "lines.0.sku": {"lines": [{"sku": "g-off", "qty": 1}]},
    }
    for field, changes in cases.items():
        answer = await place(client, **changes)
        assert answer.status_code == 422, (field, answer.text)
        assert field in [f["field"] for f in answer.json()["fields"]], (field, answer.text)
    mixed = await place(client, lines=[{"sku": "g-1", "qty": 1}, {"sku": "g-eur", "qty": 1}])
    assert mixed.json()["fields"][0]["code"] == "mixed_currencies"
    too_many = [{"sku": f"s{i}", "qty": 1} for i in range(11)]
    assert (await place(client, lines=too_many)).status_code == 422
    twice = [{"sku": "g-1", "qty": 1}, {"sku": "g-1", "qty": 1}]
    assert (await place(client, lines=twice)).status_code == 422
    assert await count_orders(runtime) == 0


async def test_when_nowpayments_is_down_the_order_stays_created_and_the_answer_is_502(
    client: httpx.AsyncClient, runtime: ServiceRuntime, nowpayments: NowPaymentsSandbox
) -> None:
    nowpayments.faults.update({"fail_next": 3})
    answer = await place(client)
    assert (answer.status_code, answer.json()["error"]) == (502, "payment_provider_unavailable")
    async with runtime.engine.connect() as connection:
        [status] = (await connection.execute(select(orders.c.status))).scalars().all()
        lines = await connection.scalar(select(func.count()).select_from(order_lines))
    assert (status, lines) == ("created", 1)


async def test_a_retried_request_with_the_same_idempotency_key_returns_the_same_order(
    client: httpx.AsyncClient, runtime: ServiceRuntime, nowpayments: NowPaymentsSandbox
) -> None:
    key = {"idempotency-key": "checkout-7f3a"}
    first = await place_with(
        client, key, lines=[{"sku": "g-2", "qty": 1}, {"sku": "g-1", "qty": 2}]
    )
    again = await place_with(
        client, key, lines=[{"sku": "g-1", "qty": 2}, {"sku": "g-2", "qty": 1}]
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["order_id"] == first.json()["order_id"]
    assert again.json()["invoice_url"] == first.json()["invoice_url"]
    assert (await count_orders(runtime), len(nowpayments.store.invoices)) == (1, 1)


async def test_an_idempotency_key_reused_for_another_order_is_409_and_stores_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    key = {"idempotency-key": "checkout-7f3b"}
    assert (await place_with(client, key)).status_code == 201
    other = await place_with(client, key, lines=[{"sku": "g-1", "qty": 3}])
    assert (other.status_code, other.json()["error"]) == (409, "idempotency_key_reused")
    too_long = await place_with(client, {"idempotency-key": "k" * 256})
    assert (too_long.status_code, too_long.json()["fields"][0]["field"]) == (422, "Idempotency-Key")
    assert await count_orders(runtime) == 1


async def test_after_nowpayments_failed_a_retry_with_the_same_key_invoices_the_same_order(
    client: httpx.AsyncClient, runtime: ServiceRuntime, nowpayments: NowPaymentsSandbox
) -> None:
    key = {"idempotency-key": "checkout-7f3c"}
    nowpayments.faults.update({"fail_next": 3})
    failed = await place_with(client, key)
    assert failed.status_code == 502
    retried = await place_with(client, key)
    assert (retried.status_code, retried.json()["status"]) == (201, "invoiced")
    [invoice] = nowpayments.store.invoices.values()
    assert invoice.order_id == retried.json()["order_id"]
    assert await count_orders(runtime) == 1


async def place_with(
    client: httpx.AsyncClient, headers: dict[str, str], **changes: object
) -> httpx.Response:
    body = {"email": "buyer@example.com", "lines": [{"sku": "g-1", "qty": 2}], **changes}
    return await client.post("/orders", json=body, headers=headers)
