"""Fixtures of the payments tests: the NOWPayments sandbox, and the service started on the
real database and bus against it, its catalog filled through its API."""

from collections.abc import AsyncIterator

import httpx
import pytest
from payments_support import scalar
from refund_support import CLAIM_KEYS
from sqlalchemy import func, select
from starlette.applications import Starlette

from bitloot_payments.bootstrap import build
from bitloot_payments.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.tables import outbox
from bitloot_runtime.tokens import generate_key_pair
from bitloot_sandbox_nowpayments.app import create_app
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

API_KEY = "test-nowpayments-api-key"
PAY_PAGES = "https://nowpayments.io"
Service = tuple[ServiceRuntime, httpx.AsyncClient, httpx.ASGITransport]
INTERNAL_TOKEN = "payments-test-internal-token"
CATALOG: dict[str, dict[str, object]] = {
    "g-1": {"price": "12.50", "currency": "usd", "max_purchase_price": "9", "platform": "Steam"},
    "g-2": {"price": "2.25", "currency": "usd", "max_purchase_price": "1.5"},
    "g-eur": {"price": "5", "currency": "eur", "max_purchase_price": "4"},
    "g-off": {"price": "1", "currency": "usd", "max_purchase_price": "1", "active": False},
}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client, for our clients of NOWPayments served on a port."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def nowpayments_app() -> AsyncIterator[Starlette]:
    """The NOWPayments sandbox, served in process; it pays nothing by itself, so the tests
    send the IPNs they need."""
    app = create_app(NowPaymentsSandboxConfig(api_key=API_KEY, public_url=PAY_PAGES))
    try:
        yield app
    finally:
        await app.state.sandbox.aclose()


@pytest.fixture
def nowpayments(nowpayments_app: Starlette) -> NowPaymentsSandbox:
    """The sandbox's state: its invoices (`store`) and injectable `faults`."""
    sandbox: NowPaymentsSandbox = nowpayments_app.state.sandbox
    return sandbox


@pytest.fixture
def settings(database_url: str, bus_prefix: BusNamespace) -> Settings:
    return load_settings(
        Settings,
        database_url=database_url,
        amqp_url=bus_prefix.amqp_url,
        bus_prefix=bus_prefix.prefix,
        retry_delays=(0.2, 0.5, 1.0),
        outbox_poll_interval=0.2,
        ipn_poll_interval=0.1,
        ipn_max_attempts=3,
        ipn_retry_delay=0.05,
        ipn_retry_max_delay=0.2,
        internal_token=INTERNAL_TOKEN,
        nowpayments_api_url="https://api.nowpayments.test",
        nowpayments_api_key=API_KEY,
        nowpayments_ipn_secret="ipn-secret-current",
        nowpayments_ipn_secret_previous="ipn-secret-previous",
        public_url="https://shop.bitloot.test",
        success_url="https://shop.bitloot.test/orders/{order_id}/paid",
        cancel_url="https://shop.bitloot.test/orders/{order_id}/cancelled",
        order_token_private_key=generate_key_pair()[0],
        claim_token_public_keys=f"c1:{CLAIM_KEYS[1]}",
        # Every test client is one address; the limits' own tests lower these.
        checkout_client_limit=100_000,
        checkout_global_limit=100_000,
        checkout_email_test_domains=True,
    )


@pytest.fixture
async def service(
    settings: Settings,
    bus_prefix: BusNamespace,
    nowpayments_app: Starlette,
    internal_headers: dict[str, str],
) -> AsyncIterator[Service]:
    """The running service and a client of its HTTP app, the catalog filled."""
    runtime, app = build(settings, nowpayments_transport=httpx.ASGITransport(app=nowpayments_app))
    bus_prefix.track_services(["payments"], settings.retry_delays)
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
            # The catalog's announcements reach the bus before the test begins, so that a
            # spy bound by the test sees only what the test itself causes.
            assert await eventually(lambda: _outbox_drained(runtime), timeout=10)
            yield runtime, client, transport
    finally:
        await runtime.stop()


async def _outbox_drained(runtime: ServiceRuntime) -> bool:
    waiting = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    return bool(await scalar(runtime, waiting) == 0)


@pytest.fixture
def runtime(service: Service) -> ServiceRuntime:
    return service[0]


@pytest.fixture
def client(service: Service) -> httpx.AsyncClient:
    return service[1]


@pytest.fixture
def transport(service: Service) -> httpx.ASGITransport:
    """The service's HTTP app as an httpx transport, for clients other than `client`."""
    return service[2]


@pytest.fixture
async def admin(
    transport: httpx.ASGITransport, internal_headers: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the service's HTTP app that sends what the admin service sends."""
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=internal_headers
    ) as admin:
        yield admin


@pytest.fixture
def internal_headers() -> dict[str, str]:
    """What the admin service sends to reach /internal/*."""
    return {"authorization": f"Bearer {INTERNAL_TOKEN}"}
