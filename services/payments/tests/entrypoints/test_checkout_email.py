"""Checkout's address rule at the edge: refused addresses are 422 naming the field and the
reason, with nothing stored and no invoice; internationalised ones are stored normalised,
carried on the bus, and found by the admin's search."""

import json

import httpx
import pytest
from payments_support import count_orders, ipn, scalar, send
from sqlalchemy import select

from bitloot_payments.adapters.orm import orders
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tables import outbox
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox
from bitloot_testing.bus import eventually

LINES = [{"sku": "g-1", "qty": 2}]


@pytest.mark.parametrize(
    "address", ["a" * 240 + "@example.com", "a@-.-", "a..b@x.com", "a@localhost", "x" * 2000]
)
async def test_an_address_mail_servers_refuse_is_422_with_nothing_stored(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    nowpayments: NowPaymentsSandbox,
    address: str,
) -> None:
    answer = await client.post("/orders", json={"email": address, "lines": LINES})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_request"
    [field] = answer.json()["fields"]
    assert field["field"] == "email"
    assert field["code"] in ("invalid_email", "string_too_long")
    assert await count_orders(runtime) == 0
    assert nowpayments.store.invoices == {}


async def test_a_refusal_says_why(client: httpx.AsyncClient) -> None:
    answer = await client.post("/orders", json={"email": "a..b@x.com", "lines": LINES})
    assert answer.json()["fields"] == [
        {
            "field": "email",
            "code": "invalid_email",
            "error": "An email address cannot have two periods in a row.",
        }
    ]


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("用户@例子.广告", "用户@例子.广告"),
        ("josé@example.com", "josé@example.com"),
        (" JOSE\u0301@Example.COM ", "josé@example.com"),
    ],
)
async def test_an_internationalised_address_is_stored_normalised_and_travels(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    admin: httpx.AsyncClient,
    address: str,
    stored: str,
) -> None:
    answer = await client.post("/orders", json={"email": address, "lines": LINES})
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["order_id"]
    email = await scalar(runtime, select(orders.c.email).where(orders.c.order_id == order_id))
    assert email == stored
    assert (await send(client, ipn(order_id, "finished"))).status_code == 200

    async def finished() -> dict[str, object] | None:
        query = select(outbox.c.body).where(
            outbox.c.order_id == order_id, outbox.c.topic == "payment.finished"
        )
        body = await scalar(runtime, query)
        return None if body is None else dict(json.loads(body))

    async def published() -> bool:
        return await finished() is not None

    assert await eventually(published, timeout=15)
    event = await finished()
    assert event is not None
    assert event["customer_email"] == stored
    searched = await admin.get("/internal/orders", params={"email": address.upper()})
    assert [item["order_id"] for item in searched.json()["items"]] == [order_id]
