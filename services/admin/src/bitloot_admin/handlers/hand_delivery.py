"""An admin delivers a failed or stuck order's keys by hand.

The keys are sealed with HPKE to delivery's public key here, in this process's memory,
as the gateway seals Kinguin's; only the sealed payload leaves the admin, to
fulfillment's ``POST /internal/orders/{id}/deliver-by-hand``, which hands it to delivery
as ``keys.delivered``. The admin never stores or logs a key: the audit records who,
which order, how many keys and how it ended.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pydantic import JsonValue

from bitloot_admin.adapters.upstream import NotFound, UpstreamClient
from bitloot_admin.domain.audit import AuditEntry
from bitloot_admin.domain.hand_keys import HandKey, KeysRefused, check_keys, plaintext
from bitloot_admin.domain.listings import items_of
from bitloot_admin.handlers.audit import record
from bitloot_admin.handlers.ports import AdminWork
from bitloot_admin.handlers.repairs import Outcome
from bitloot_contracts.topics import ADMIN, FULFILLMENT
from bitloot_runtime.sealing import seal

logger = logging.getLogger(__name__)

ACTION = "keys_delivered_by_hand"


@dataclass(frozen=True)
class DeliveryKey:
    """Delivery's HPKE public key and its id, the one the gateway seals to."""

    public_key: X25519PublicKey
    key_id: str


@dataclass(frozen=True)
class OrderLines:
    """The order's products and quantities, as fulfillment's saga holds them; an
    `Outcome` (the refusal) when fulfillment does not say."""

    upstream: UpstreamClient

    async def __call__(self, order_id: UUID) -> dict[str, int] | Outcome:
        answer = await self.upstream.get_document(
            FULFILLMENT, "/internal/sagas", {"order_id": str(order_id)}
        )
        if isinstance(answer, NotFound) or not isinstance(answer, dict):
            return Outcome(FULFILLMENT, 503, {"error": "unavailable"})
        items = items_of(answer) or []
        if not items:
            return _refusal(404, "order_not_found", f"Fulfillment has no order {order_id}.")
        return _lines(items[0].get("lines"))


@dataclass(frozen=True)
class DeliverByHand:
    """Seal the keys to delivery and have fulfillment hand them on; audited either way.
    Without `delivery_key` (not configured) every attempt is refused."""

    upstream: UpstreamClient
    work: Callable[[], AdminWork]
    delivery_key: DeliveryKey | None

    async def __call__(self, actor: str, order_id: UUID, keys: Sequence[HandKey]) -> Outcome:
        outcome = await self._deliver(actor, order_id, keys)
        detail: dict[str, JsonValue] = {
            "service": outcome.service,
            "status": outcome.status,
            "key_count": len(keys),
        }
        entry = AuditEntry(actor, ACTION, f"orders/{order_id}", reason(outcome), detail)
        await record(self.work, entry)
        logger.info(
            "admin action",
            extra={
                "actor": actor,
                "action": ACTION,
                "order_id": str(order_id),
                "key_count": len(keys),
                "outcome": reason(outcome),
            },
        )
        return outcome

    async def _deliver(self, actor: str, order_id: UUID, keys: Sequence[HandKey]) -> Outcome:
        if self.delivery_key is None:
            return _refusal(
                503,
                "hand_delivery_not_configured",
                "ADMIN_DELIVERY_PUBLIC_KEY is not set; nothing was sent.",
            )
        lines = await OrderLines(self.upstream)(order_id)
        if isinstance(lines, Outcome):
            return lines
        try:
            check_keys(keys, lines)
        except KeysRefused as refused:
            return _refusal(422, refused.code, str(refused))
        sealed = seal(
            plaintext(keys), self.delivery_key.public_key, self.delivery_key.key_id, order_id
        )
        body: dict[str, JsonValue] = {
            "sealed": sealed.model_dump(mode="json"),
            "key_count": len(keys),
        }
        path = f"/internal/orders/{order_id}/deliver-by-hand"
        return Outcome.of(FULFILLMENT, await self.upstream.post(FULFILLMENT, path, actor, body))


def reason(outcome: Outcome) -> str:
    """Why the action ended as it did; the admin's own refusals name their code even
    when they are 503 (nothing configured), which `Outcome.reason` would call unavailable."""
    error = outcome.body.get("error")
    if outcome.service == ADMIN and isinstance(error, str):
        return error
    return outcome.reason


def _refusal(status: int, code: str, detail: str) -> Outcome:
    return Outcome(ADMIN, status, {"error": code, "detail": detail})


def _lines(raw: JsonValue) -> dict[str, int] | Outcome:
    lines: dict[str, int] = {}
    for line in raw if isinstance(raw, list) else []:
        if not isinstance(line, dict):
            continue
        product, qty = line.get("kinguin_product_id"), line.get("qty")
        if isinstance(product, str) and isinstance(qty, int):
            lines[product] = lines.get(product, 0) + qty
    if not lines:
        return _refusal(503, "order_lines_unknown", "Fulfillment did not say what the order holds.")
    return lines
