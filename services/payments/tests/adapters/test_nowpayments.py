"""The NOWPayments client against a stand-in that speaks the real invoice format."""

from decimal import Decimal
from uuid import uuid4

import httpx
import pytest

from bitloot_payments.adapters.nowpayments import (
    NowPaymentsClient,
    NowPaymentsRejected,
    NowPaymentsUnavailable,
)

API_URL = "https://api.nowpayments.test"
API_KEY = "test-nowpayments-api-key"
CALLBACK = "https://shop.bitloot.test/payments/ipn"


def client_on(transport: httpx.AsyncBaseTransport, api_key: str = API_KEY) -> NowPaymentsClient:
    http = httpx.AsyncClient(transport=transport)
    return NowPaymentsClient(API_URL, api_key, http, retry_delays=(0.01, 0.02))


async def test_an_invoice_is_created_for_the_order_with_our_callback(
    nowpayments_transport: httpx.ASGITransport, invoice_requests: list[dict[str, object]]
) -> None:
    order_id = uuid4()
    invoice = await client_on(nowpayments_transport).create_invoice(
        order_id, Decimal("27.25000000"), "usd", "BitLoot order", CALLBACK
    )
    assert invoice.invoice_url == f"https://nowpayments.io/payment/?iid={invoice.id}"
    assert invoice_requests == [
        {
            "price_amount": "27.25",
            "price_currency": "usd",
            "order_id": str(order_id),
            "order_description": "BitLoot order",
            "ipn_callback_url": CALLBACK,
        }
    ]


async def test_429_and_5xx_are_retried_until_an_invoice_is_created(
    nowpayments_transport: httpx.ASGITransport, nowpayments_faults: list[int]
) -> None:
    nowpayments_faults.extend([429, 502])
    client = client_on(nowpayments_transport)
    invoice = await client.create_invoice(uuid4(), Decimal(5), "usd", "d", CALLBACK)
    assert invoice.id
    assert nowpayments_faults == []


async def test_an_outage_longer_than_the_retries_is_transient(
    nowpayments_transport: httpx.ASGITransport, nowpayments_faults: list[int]
) -> None:
    nowpayments_faults.extend([503, 503, 503, 503])
    with pytest.raises(NowPaymentsUnavailable, match="503"):
        await client_on(nowpayments_transport).create_invoice(
            uuid4(), Decimal(5), "usd", "d", CALLBACK
        )
    assert nowpayments_faults == [503], "three attempts in all"


async def test_a_refusal_is_permanent_and_not_retried(
    nowpayments_transport: httpx.ASGITransport,
    invoice_requests: list[dict[str, object]],
) -> None:
    with pytest.raises(NowPaymentsRejected, match="403"):
        await client_on(nowpayments_transport, api_key="wrong").create_invoice(
            uuid4(), Decimal(5), "usd", "d", CALLBACK
        )
    assert invoice_requests == []


async def test_a_timeout_is_transient() -> None:
    attempts: list[httpx.Request] = []

    def never_answers(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(NowPaymentsUnavailable, match="timed out"):
        await client_on(httpx.MockTransport(never_answers)).create_invoice(
            uuid4(), Decimal(5), "usd", "d", CALLBACK
        )
    assert len(attempts) == 3
