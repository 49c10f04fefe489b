"""Test harness: a NOWPayments sandbox served for real and a receiver for its IPNs."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from bitloot_sandbox_common.receiver import Receiver, receiving
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox
from bitloot_sandbox_nowpayments.server import running_app

API_KEY = "test-api-key"
IPN_SECRET = "test-ipn-secret"


@dataclass
class Sandbox:
    client: httpx.AsyncClient
    state: NowPaymentsSandbox
    receiver: Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving("/ipn") as receiver:
        yield receiver


@pytest.fixture
async def sandbox(receiver: Receiver) -> AsyncIterator[Sandbox]:
    config = NowPaymentsSandboxConfig(
        api_key=API_KEY, ipn_secret=IPN_SECRET, port=0, ipn_delay=0.02, callback_backoff=0.01
    )
    async with (
        running_app(config) as (base_url, app),
        httpx.AsyncClient(base_url=base_url, headers={"x-api-key": API_KEY}) as client,
    ):
        yield Sandbox(client, app.state.sandbox, receiver)


async def create_invoice(sandbox: Sandbox, **fields: object) -> dict[str, object]:
    """A new invoice whose IPNs go to the receiver."""
    body = {
        "price_amount": 25.5,
        "price_currency": "usd",
        "order_id": "order-1",
        "order_description": "2 keys",
        "ipn_callback_url": sandbox.receiver.url,
        "success_url": "http://shop.test/ok",
        "cancel_url": "http://shop.test/cancel",
        **fields,
    }
    response = await sandbox.client.post("/v1/invoice", json=body)
    assert response.status_code == 200, response.text
    invoice: dict[str, object] = response.json()
    return invoice
