"""Kinguin's webhooks (features/Webhooks.md): ``order.status`` when an order's status
changes and ``product.update`` when a product changes, POSTed as JSON with the headers
``X-Event-Name`` and ``X-Event-Secret``; the sandbox also signs the raw body
(``X-KINGUIN-SIGNATURE``, hex HMAC-SHA512 under the secret)."""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from bitloot_sandbox_common.callbacks import CallbackSender, Delivery
from bitloot_sandbox_common.faults import Faults
from bitloot_sandbox_kinguin.config import ProductSpec
from bitloot_sandbox_kinguin.orders import Json, Order, SentWebhook, timestamp
from bitloot_sandbox_kinguin.products import product_update_json

ORDER_STATUS = "order.status"
PRODUCT_UPDATE = "product.update"


def sign(raw_body: bytes, secret: str) -> str:
    """``X-KINGUIN-SIGNATURE``: hex HMAC-SHA512 of the raw body with the webhook secret."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha512).hexdigest()


@dataclass(frozen=True)
class SentProductUpdate:
    """One ``product.update`` webhook sent and what the receiver answered."""

    body: Json
    delivery: Delivery

    def as_json(self) -> Json:
        return {**self.body, **self.delivery.as_json()}


class Webhooks:
    """Sends webhooks to `url` (none while it is unset; it may change at run time), each
    `faults.duplicate_callbacks` extra times."""

    def __init__(
        self, *, secret: str, url: str | None, sender: CallbackSender, faults: Faults
    ) -> None:
        self._secret = secret
        self.url = url
        self._sender = sender
        self._faults = faults
        self.product_updates: list[SentProductUpdate] = []

    async def order_status(self, order: Order, updates: list[tuple[str, datetime]]) -> None:
        """One ``order.status`` webhook per (status, updatedAt) of `updates`, in order."""
        for status, at in updates:
            body: Json = {"orderId": order.order_id}
            if order.order_external_id is not None:
                body["orderExternalId"] = order.order_external_id
            body |= {"status": status, "updatedAt": timestamp(at)}
            for delivery in await self._send(ORDER_STATUS, body):
                order.webhooks.append(SentWebhook(status, timestamp(at), delivery))

    async def product_update(self, product_id: str, spec: ProductSpec, at: datetime) -> None:
        """A ``product.update`` webhook for the product as it is now."""
        body = product_update_json(product_id, spec, at)
        for delivery in await self._send(PRODUCT_UPDATE, body):
            self.product_updates.append(SentProductUpdate(body, delivery))

    async def _send(self, event: str, body: Json) -> list[Delivery]:
        url = self.url
        if not url:
            return []
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "X-Event-Name": event,
            "X-Event-Secret": self._secret,
            "X-KINGUIN-SIGNATURE": sign(raw, self._secret),
        }
        return [
            await self._sender.post(url, raw, headers)
            for _ in range(1 + self._faults.duplicate_callbacks)
        ]
