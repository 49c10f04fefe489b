"""Test harness: a NOWPayments sandbox served for real and a receiver for its IPNs."""

import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest

from bitloot_sandbox_common.receiver import Receiver, receiving
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox
from bitloot_sandbox_nowpayments.server import running_app

API_KEY = "test-api-key"
IPN_SECRET = "test-ipn-secret"
EMAIL = "Merchant@example.com"
PASSWORD = "test-password"
TWO_FA_SECRET = "KRSXG5CTMVRXEZLUKN2XAZLSONSWG4TF"
ADDRESS = "TEmGwPeRTPiLFLVfBxXkSP91yc5GMNQhfS"

# The fields of the documented payment status object ("Get payment status", the list).
STATUS_FIELDS = {
    "payment_id", "invoice_id", "payment_status", "pay_address", "payin_extra_id",
    "price_amount", "price_currency", "pay_amount", "actually_paid", "pay_currency",
    "order_id", "order_description", "purchase_id", "outcome_amount", "outcome_currency",
    "payout_hash", "payin_hash", "created_at", "updated_at", "type", "payment_extra_ids",
}  # fmt: skip


@dataclass
class Sandbox:
    client: httpx.AsyncClient
    state: NowPaymentsSandbox
    receiver: Receiver


@contextlib.asynccontextmanager
async def serving(receiver: Receiver, token_ttl: int = 300) -> AsyncIterator[Sandbox]:
    """A sandbox with the test credentials and quick IPNs, served for real."""
    config = NowPaymentsSandboxConfig(
        api_key=API_KEY,
        ipn_secret=IPN_SECRET,
        email=EMAIL,
        password=PASSWORD,
        port=0,
        ipn_delay=0.02,
        callback_backoff=0.01,
        token_ttl=token_ttl,
        two_fa_secret=TWO_FA_SECRET,
        payout_balance=1000.0,
        payout_delay=0.02,
    )
    async with (
        running_app(config) as (base_url, app),
        httpx.AsyncClient(base_url=base_url, headers={"x-api-key": API_KEY}) as client,
    ):
        yield Sandbox(client, app.state.sandbox, receiver)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving("/ipn") as receiver:
        yield receiver


@pytest.fixture
async def sandbox(receiver: Receiver) -> AsyncIterator[Sandbox]:
    async with serving(receiver) as sandbox:
        yield sandbox


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
    assert response.status_code == 201, response.text
    invoice: dict[str, object] = response.json()
    return invoice


async def paid_invoice(sandbox: Sandbox, **pay: object) -> dict[str, object]:
    """A new invoice paid through the control endpoint; its IPNs all sent. The payment."""
    invoice = await create_invoice(sandbox)
    answer = await sandbox.client.post(f"/sandbox/invoices/{invoice['id']}/pay", json=pay)
    assert answer.status_code == 201, answer.text
    await sandbox.state.idle()
    payment: dict[str, object] = answer.json()
    return payment


async def token(sandbox: Sandbox) -> str:
    """A fresh JWT from ``POST /v1/auth``."""
    answer = await sandbox.client.post("/v1/auth", json={"email": EMAIL, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


async def payment_status(sandbox: Sandbox, payment_id: object) -> dict[str, object]:
    """``GET /v1/payment/{id}``, which must answer 200."""
    answer = await sandbox.client.get(f"/v1/payment/{payment_id}")
    assert answer.status_code == 200, answer.text
    status: dict[str, object] = answer.json()
    return status


def verified(headers: dict[str, str], raw: bytes) -> dict[str, object]:
    """The IPN body, its signature checked over the bytes received, its layout checked
    against Python's canonical form (which JavaScript's matches for these amounts)."""
    expected = hmac.new(IPN_SECRET.encode(), raw, hashlib.sha512).hexdigest()
    assert hmac.compare_digest(headers["x-nowpayments-sig"], expected)
    assert headers["content-type"] == "application/json"
    body: dict[str, object] = json.loads(raw)
    canonical = json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    assert raw == canonical.encode()
    return body


def received(sandbox: Sandbox) -> list[dict[str, object]]:
    """Every IPN the receiver got, verified, in arrival order."""
    return [verified(headers, raw) for headers, raw in sandbox.receiver.received]


async def listed(sandbox: Sandbox, **params: object) -> dict[str, object]:
    """``GET /v1/payment/`` with a fresh JWT, which must answer 200."""
    bearer = {"authorization": f"Bearer {await token(sandbox)}"}
    query = {name: str(value) for name, value in params.items()}
    answer = await sandbox.client.get("/v1/payment/", params=query, headers=bearer)
    assert answer.status_code == 200, answer.text
    page: dict[str, object] = answer.json()
    return page


def ids(page: dict[str, object]) -> list[object]:
    """The payment ids of a page of the list, in order."""
    data = page["data"]
    assert isinstance(data, list)
    return [item["payment_id"] for item in data]


async def bearer(sandbox: Sandbox) -> dict[str, str]:
    """The header of a fresh JWT."""
    return {"authorization": f"Bearer {await token(sandbox)}"}


async def create_payout(sandbox: Sandbox, **fields: object) -> httpx.Response:
    """``POST /v1/payout`` of one withdrawal (100 usdttrc20 to `ADDRESS`) whose IPNs go to
    the receiver; `fields` change the withdrawal."""
    withdrawal = {"address": ADDRESS, "currency": "usdttrc20", "amount": 100, **fields}
    body = {"ipn_callback_url": sandbox.receiver.url, "withdrawals": [withdrawal]}
    return await sandbox.client.post("/v1/payout", json=body, headers=await bearer(sandbox))


async def verify(sandbox: Sandbox, batch_id: object, code: str | None = None) -> httpx.Response:
    """``POST /v1/payout/{batch_id}/verify`` with the current 2FA code (or `code`)."""
    body = {"verification_code": code or pyotp.TOTP(TWO_FA_SECRET).now()}
    headers = await bearer(sandbox)
    return await sandbox.client.post(f"/v1/payout/{batch_id}/verify", json=body, headers=headers)


async def paid_out(sandbox: Sandbox, **fields: object) -> dict[str, Any]:
    """A payout created and verified, all its IPNs sent: its withdrawal as
    ``GET /v1/payout/{batch id}`` shows it."""
    created = await create_payout(sandbox, **fields)
    assert created.status_code == 200, created.text
    batch_id = created.json()["id"]
    assert (await verify(sandbox, batch_id)).status_code == 200
    await sandbox.state.idle()
    [withdrawal] = (await sandbox.client.get(f"/v1/payout/{batch_id}")).json()
    assert isinstance(withdrawal, dict)
    return withdrawal
