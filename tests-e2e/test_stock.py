"""Stock and price before payment, across the real services: Kinguin's product.update
webhooks and the gateway's periodic reading of the catalog's products reach payments over
RabbitMQ, and checkout refuses what Kinguin cannot supply (409) before any invoice."""

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import bitloot_launch.inprocess
from bitloot_kinguin_gateway.settings import Settings as GatewaySettings
from bitloot_launch.inprocess import Stack
from bitloot_runtime.settings import EdgeSettings, load_settings
from bitloot_runtime.signatures import hmac_sha512_hex
from bitloot_testing.bus import eventually

# In the Kinguin sandbox's default catalogue (EUR): 4.99, 3 in stock; 19.99, 500 in stock.
HOLLOW_KNIGHT = "5c9b5e5e2539a4e8f17270b0"
MINECRAFT = "5c9b6f0d2539a4e8f17ab8e2"


@pytest.fixture
def stack_settings(monkeypatch: pytest.MonkeyPatch) -> list[EdgeSettings]:
    """The settings `running_stack` loads (the webhook secret is not on `Stack`), with the
    gateway reading the catalog's products every second. Requested before `stack`."""
    monkeypatch.setenv("KINGUIN_GATEWAY_CATALOG_SYNC_SECONDS", "1")
    loaded: list[EdgeSettings] = []

    def recording(settings_class: type[EdgeSettings], **values: object) -> EdgeSettings:
        settings = load_settings(settings_class, **values)
        loaded.append(settings)
        return settings

    monkeypatch.setattr(bitloot_launch.inprocess, "load_settings", recording)
    return loaded


class Shop:
    def __init__(self, http: httpx.AsyncClient, stack: Stack, webhook_secret: str) -> None:
        self.http, self.stack, self.secret = http, stack, webhook_secret
        self.internal = {"authorization": f"Bearer {stack.internal_token}"}

    async def sell(self, sku: str, product_id: str, maximum: str) -> None:
        body = {
            "title": sku,
            "kinguin_product_id": product_id,
            "price": "30",
            "currency": "usd",
            "max_purchase_price": maximum,
            "active": True,
        }
        url = f"{self.stack.payments}/internal/products/{sku}"
        answer = await self.http.put(url, json=body, headers=self.internal)
        assert answer.status_code == 200, answer.text

    async def known(self, sku: str) -> dict[str, Any] | None:
        url = f"{self.stack.payments}/internal/products"
        items = (await self.http.get(url, headers=self.internal)).json()["items"]
        found: dict[str, Any] | None = {i["sku"]: i for i in items}[sku]["kinguin_availability"]
        return found

    async def until_known(self, sku: str, qty: int) -> None:
        async def heard() -> bool:
            known = await self.known(sku)
            return known is not None and known["qty"] == qty

        assert await eventually(heard, timeout=30), await self.known(sku)

    async def order(self, sku: str, qty: int = 1) -> httpx.Response:
        body = {"email": "buyer@example.com", "lines": [{"sku": sku, "qty": qty}]}
        return await self.http.post(f"{self.stack.payments}/orders", json=body)

    async def invoices(self) -> int:
        return len(
            (await self.http.get(f"{self.stack.nowpayments_sandbox}/sandbox/invoices")).json()
        )

    async def kinguin_stock(self, product_id: str, qty: int) -> None:
        """Kinguin's stock changes, and Kinguin says so by webhook, as it documents it."""
        url = f"{self.stack.kinguin_sandbox}/sandbox/products/{product_id}/stock"
        assert (await self.http.post(url, json={"stock": qty})).status_code == 200
        body = json.dumps(
            {
                "kinguinId": 1949,
                "productId": product_id,
                "qty": qty,
                "textQty": qty,
                "cheapestOfferId": ["611222acff9ca40001f0b020"],
                "updatedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
        ).encode()
        headers = {
            "X-Event-Name": "product.update",
            "Content-Type": "application/json",
            "X-KINGUIN-SIGNATURE": hmac_sha512_hex(self.secret, body),
        }
        answer = await self.http.post(
            f"{self.stack.kinguin_gateway}/kinguin/webhooks", content=body, headers=headers
        )
        assert answer.status_code == 204


@pytest.mark.slow
async def test_checkout_refuses_what_kinguin_cannot_supply_and_sells_it_once_restocked(
    stack_settings: list[EdgeSettings], stack: Stack
) -> None:
    [gateway] = [s for s in stack_settings if isinstance(s, GatewaySettings)]
    async with httpx.AsyncClient(timeout=30) as http:
        shop = Shop(http, stack, gateway.webhook_secret.get_secret_value())
        await shop.sell("hollow-knight", HOLLOW_KNIGHT, maximum="10")
        await shop.sell("minecraft", MINECRAFT, maximum="15")
        # Listed → watched by the gateway → read from Kinguin → known to payments.
        await shop.until_known("hollow-knight", 3)
        await shop.until_known("minecraft", 500)

        await shop.kinguin_stock(HOLLOW_KNIGHT, 0)
        await shop.until_known("hollow-knight", 0)
        before = await shop.invoices()
        refused = await shop.order("hollow-knight")
        assert (refused.status_code, refused.json()["error"]) == (409, "out_of_stock")
        assert refused.json()["fields"][0]["sku"] == "hollow-knight"

        expensive = await shop.order("minecraft")
        assert (expensive.status_code, expensive.json()["error"]) == (409, "price_above_maximum")
        assert await shop.invoices() == before  # NOWPayments was never asked

        await shop.kinguin_stock(HOLLOW_KNIGHT, 5)
        await shop.until_known("hollow-knight", 5)
        accepted = await shop.order("hollow-knight", qty=2)
        assert accepted.status_code == 201, accepted.text
        assert await shop.invoices() == before + 1
