"""Fixtures of the payments tests: a stand-in NOWPayments speaking its invoice format, and
the service started on the real database and bus, its catalog filled through its API."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_payments.bootstrap import build
from bitloot_payments.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.tokens import generate_key_pair
from bitloot_testing.rabbitmq import BusNamespace

API_KEY = "test-nowpayments-api-key"
INTERNAL_TOKEN = "payments-test-internal-token"
CATALOG: dict[str, dict[str, object]] = {
    "g-1": {"price": "12.50", "currency": "usd", "max_purchase_price": "9"},
    "g-2": {"price": "2.25", "currency": "usd", "max_purchase_price": "1.5"},
    "g-eur": {"price": "5", "currency": "eur", "max_purchase_price": "4"},
    "g-off": {"price": "1", "currency": "usd", "max_purchase_price": "1", "active": False},
}


@pytest.fixture
def invoice_requests() -> list[dict[str, object]]:
    """The bodies of the invoice requests the stand-in received."""
    return []


@pytest.fixture
def nowpayments_faults() -> list[int]:
    """Status codes the stand-in answers, one per request, before it creates invoices."""
    return []


@pytest.fixture
def nowpayments_transport(
    invoice_requests: list[dict[str, object]], nowpayments_faults: list[int]
) -> httpx.ASGITransport:
    """NOWPayments' ``POST /v1/invoice`` as documented, served in process."""

    async def create_invoice(request: Request) -> Response:
        if nowpayments_faults:
            status = nowpayments_faults.pop(0)
            return JSONResponse({"statusCode": status, "message": "fault"}, status_code=status)
        if request.headers.get("x-api-key") != API_KEY:
            return JSONResponse({"statusCode": 403, "message": "Invalid api key"}, 403)
        body = await request.json()
        invoice_requests.append(body)
        invoice_id = str(4522625843 + len(invoice_requests))
        now = datetime.now(UTC).isoformat()
        return JSONResponse(
            {
                "id": invoice_id,
                "token_id": "s2v9GH2Jk",
                "order_id": body["order_id"],
                "order_description": body["order_description"],
                "price_amount": body["price_amount"],
                "price_currency": body["price_currency"],
                "pay_currency": None,
                "ipn_callback_url": body["ipn_callback_url"],
                "invoice_url": f"https://nowpayments.io/payment/?iid={invoice_id}",
                "success_url": None,
                "cancel_url": None,
                "created_at": now,
                "updated_at": now,
            }
        )

    app = Starlette(routes=[Route("/v1/invoice", create_invoice, methods=["POST"])])
    return httpx.ASGITransport(app=app)


@pytest.fixture
def settings(database_url: str, bus_prefix: BusNamespace) -> Settings:
    return load_settings(
        Settings,
        database_url=database_url,
        amqp_url=bus_prefix.amqp_url,
        bus_prefix=bus_prefix.prefix,
        retry_delays=(0.2, 0.5, 1.0),
        outbox_poll_interval=0.2,
        internal_token=INTERNAL_TOKEN,
        nowpayments_api_url="https://api.nowpayments.test",
        nowpayments_api_key=API_KEY,
        nowpayments_ipn_secret="ipn-secret-current",
        nowpayments_ipn_secret_previous="ipn-secret-previous",
        public_url="https://shop.bitloot.test",
        order_token_private_key=generate_key_pair()[0],
    )


@pytest.fixture
async def service(
    settings: Settings,
    bus_prefix: BusNamespace,
    nowpayments_transport: httpx.ASGITransport,
    internal_headers: dict[str, str],
) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    """The running service and a client of its HTTP app, the catalog filled."""
    runtime, app = build(settings, nowpayments_transport=nowpayments_transport)
    for name in runtime.topology.names("payments", settings.retry_delays):
        bus_prefix.track_queue(name)
        bus_prefix.track_exchange(name)
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for sku, product in CATALOG.items():
                body = {"title": f"Game {sku}", "kinguin_product_id": f"k-{sku}", **product}
                answer = await client.put(
                    f"/internal/products/{sku}", json=body, headers=internal_headers
                )
                assert answer.status_code == 200, answer.text
            yield runtime, client
    finally:
        await runtime.stop()


@pytest.fixture
def runtime(service: tuple[ServiceRuntime, httpx.AsyncClient]) -> ServiceRuntime:
    return service[0]


@pytest.fixture
def client(service: tuple[ServiceRuntime, httpx.AsyncClient]) -> httpx.AsyncClient:
    return service[1]


@pytest.fixture
def internal_headers() -> dict[str, str]:
    """What the admin service sends to reach /internal/*."""
    return {"authorization": f"Bearer {INTERNAL_TOKEN}"}
