"""NOWPayments sends a buyer who paid to their order page unless PAYMENTS_SUCCESS_URL
says otherwise: the service here runs without that setting."""

import httpx
import pytest

from bitloot_payments.settings import Settings
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox

BROWSER = {"accept": "text/html"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The tests' settings, without a success URL (and with a live status URL)."""
    return settings.model_copy(
        update={"success_url": None, "live_status_url": "ws://127.0.0.1:8012"}
    )


async def test_the_success_url_is_the_order_page_by_default_and_opens_it(
    client: httpx.AsyncClient, nowpayments: NowPaymentsSandbox
) -> None:
    body = {"email": "buyer@example.com", "lines": [{"sku": "g-1", "qty": 1}]}
    created = (await client.post("/orders", json=body)).json()
    [invoice] = nowpayments.store.invoices.values()
    order_page = f"https://shop.bitloot.test/orders/{created['order_id']}?token="
    assert invoice.success_url is not None
    assert invoice.success_url.startswith(order_page)
    assert created["order_url"].startswith(order_page)
    landed = await client.get(invoice.success_url, headers=BROWSER)
    assert landed.status_code == 200
    assert "Awaiting payment" in landed.text
    assert "; connect-src ws://127.0.0.1:8012" in landed.headers["content-security-policy"]
    assert 'data-live="ws://127.0.0.1:8012"' in landed.text
