"""Test harness: a Kinguin sandbox served for real and a receiver for its webhooks."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest

from bitloot_sandbox_common.receiver import Receiver, receiving
from bitloot_sandbox_kinguin.config import DEFAULT_PRODUCTS, KinguinSandboxConfig, ProductSpec
from bitloot_sandbox_kinguin.sandbox import KinguinSandbox
from bitloot_sandbox_kinguin.server import running_app

API_KEY = "test-api-key"
PRODUCT = "5c9b5f6b2539a4e8f172916a"
WEBHOOK_SECRET = "test-webhook-secret"
# A preorder product added to the default catalogue (29.99 EUR, released 2031-06-01).
PREORDER = "5c9b7a1e2539a4e8f1700001"
RELEASE_DATE = "2031-06-01"
PRODUCTS = {
    **DEFAULT_PRODUCTS,
    PREORDER: ProductSpec(
        "Hollow Knight: Silksong Steam CD Key",
        Decimal("29.99"),
        50,
        99001,
        "5c9b7a1e2539a4e8f1700002",
        is_preorder=True,
        release_date=RELEASE_DATE,
    ),
}


@dataclass
class Sandbox:
    client: httpx.AsyncClient
    state: KinguinSandbox
    receiver: Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving("/hook") as receiver:
        yield receiver


@pytest.fixture
async def sandbox(receiver: Receiver) -> AsyncIterator[Sandbox]:
    config = KinguinSandboxConfig(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        webhook_url=receiver.url,
        port=0,
        webhook_delay=0.02,
        callback_backoff=0.01,
        products=PRODUCTS,
    )
    async with (
        running_app(config) as (base_url, app),
        httpx.AsyncClient(base_url=base_url, headers={"X-Api-Key": API_KEY}) as client,
    ):
        yield Sandbox(client, app.state.sandbox, receiver)


async def place(sandbox: Sandbox, external_id: str = "bl-1", **line: object) -> httpx.Response:
    """``POST /v2/order`` for one product (by default 2 units of the 2.50 product)."""
    product = {"productId": PRODUCT, "qty": 2, "price": 2.5, **line}
    body = {"products": [product], "orderExternalId": external_id}
    return await sandbox.client.post("/v2/order", json=body)


def hooks(sandbox: Sandbox, event: str) -> list[tuple[dict[str, str], dict[str, object]]]:
    """The webhooks of `event` received so far: (headers, parsed body)."""
    return [
        (headers, json.loads(raw))
        for headers, raw in sandbox.receiver.received
        if headers.get("x-event-name") == event
    ]


async def control(sandbox: Sandbox, path: str, body: object = None) -> httpx.Response:
    """``POST /sandbox/<path>``."""
    return await sandbox.client.post(f"/sandbox/{path}", json=body if body is not None else {})
