"""``order.status`` webhooks: signed like Kinguin signs them, sent when an order moves."""

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

from bitloot_sandbox_common.callbacks import CallbackSender, Tasks
from bitloot_sandbox_common.faults import Faults
from bitloot_sandbox_kinguin.store import Order, SentWebhook, timestamp

logger = logging.getLogger(__name__)


def sign(raw_body: bytes, secret: str) -> str:
    """``X-KINGUIN-SIGNATURE``: hex HMAC-SHA512 of the raw body with the webhook secret."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha512).hexdigest()


class Completer:
    """Completes orders after `delay` seconds and tells `webhook_url` about it.

    `webhook_url` and `delay` may change at run time (``POST /sandbox/config``).
    """

    def __init__(
        self,
        *,
        secret: str,
        webhook_url: str | None,
        delay: float,
        sender: CallbackSender,
        tasks: Tasks,
        faults: Faults,
    ) -> None:
        self._secret = secret
        self.webhook_url = webhook_url
        self.delay = delay
        self._sender = sender
        self._tasks = tasks
        self._faults = faults

    def start(self, order: Order) -> None:
        """Complete `order` in the background."""
        self._tasks.spawn(self._complete(order), name=f"complete-{order.order_id}")

    async def _complete(self, order: Order) -> None:
        placed_at = order.updated_at
        await asyncio.sleep(self.delay)
        order.status, order.updated_at = "completed", datetime.now(UTC)
        logger.info("order completed", extra={"kinguin_order_id": order.order_id})
        updates = [("completed", order.updated_at)]
        if self._faults.reorder_callbacks:
            # A stale "processing" arrives after "completed": receivers compare updatedAt.
            updates.append(("processing", placed_at))
        for status, at in updates:
            await self._notify(order, status, timestamp(at))

    async def _notify(self, order: Order, status: str, updated_at: str) -> None:
        url = self.webhook_url
        if not url:
            return
        body = {
            "orderId": order.order_id,
            "orderExternalId": order.order_external_id,
            "status": status,
            "updatedAt": updated_at,
        }
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "X-Event-Name": "order.status",
            "X-Event-Secret": self._secret,
            "X-KINGUIN-SIGNATURE": sign(raw, self._secret),
        }
        for _ in range(1 + self._faults.duplicate_callbacks):
            delivery = await self._sender.post(url, raw, headers)
            order.webhooks.append(SentWebhook(status, updated_at, delivery))
