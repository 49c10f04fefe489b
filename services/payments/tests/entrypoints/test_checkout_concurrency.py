"""Checkout under a storm of retries: one Idempotency-Key, 200 requests at once, against
the NOWPayments sandbox that counts the invoices it created."""

import asyncio

import httpx
from payments_support import count_orders

from bitloot_runtime.service import ServiceRuntime
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox

REQUESTS = 200


async def test_200_concurrent_checkouts_with_one_key_make_one_order_and_one_invoice(
    client: httpx.AsyncClient, runtime: ServiceRuntime, nowpayments: NowPaymentsSandbox
) -> None:
    # NOWPayments answering slowly keeps every request in the race for the invoice.
    nowpayments.faults.update({"slow_next": 1, "slow_ms": 500})
    body = {"email": "buyer@example.com", "lines": [{"sku": "g-1", "qty": 1}]}
    headers = {"idempotency-key": "storm-1"}
    answers = await asyncio.gather(
        *(client.post("/orders", json=body, headers=headers) for _ in range(REQUESTS))
    )
    assert {answer.status_code for answer in answers} == {201}, {a.text for a in answers}
    assert len({answer.json()["order_id"] for answer in answers}) == 1
    assert len({answer.json()["invoice_url"] for answer in answers}) == 1
    assert len(nowpayments.store.invoices) == 1
    [invoice] = nowpayments.store.invoices.values()
    assert invoice.invoice_url == answers[0].json()["invoice_url"]
    assert await count_orders(runtime) == 1
