"""Revealing an order's keys to the holder of its link: verify, decrypt, audit.

The keys are decrypted in memory for this one answer; every reveal is recorded (when,
from which address and browser) in the same transaction that marks the delivery viewed.
That transaction holds the order's lock, which the revoke takes too, and checks that the
keys were not revoked: a reveal and a revoke racing each other never both succeed (the
revoke refuses once a reveal is recorded; the reveal refuses once the revoke committed).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from bitloot_delivery.domain import vault
from bitloot_delivery.domain.keys import DeliveredKey, parse_keys
from bitloot_delivery.domain.links import LinkProblem, LinkRefused, RevealLinks
from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.domain.revocation import OrderRefunded
from bitloot_delivery.domain.summaries import OrderSummary
from bitloot_delivery.handlers.ports import Deliveries, DeliveryWork, ObjectStore
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Visitor:
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Revealed:
    """What the reveal page shows: the order, its keys, and what the order is in words
    (None if delivery never learnt it)."""

    order_id: UUID
    keys: list[DeliveredKey]
    summary: OrderSummary | None


@dataclass(kw_only=True, eq=False, repr=False)
class RevealKeys:
    """The reveal use case: a token in, the order's keys out (or `LinkRefused`)."""

    unit_of_work: Callable[[], DeliveryWork]
    store: ObjectStore
    links: RevealLinks
    keks: vault.KeyEncryptionKeys

    async def __call__(self, token: str, visitor: Visitor) -> Revealed:
        """The keys with their order and its summary; `LinkRefused` for a bad link,
        `KeysPurged` past retention, `OrderRefunded` once revoked (even for a genuine
        expired link: a fresh one would not open them either)."""
        try:
            order_id = self.links.verify(token)
        except LinkRefused as refused:
            if refused.order_id is not None:
                await self._refuse_if_revoked(refused.order_id)
            raise
        with log_context(order_id=str(order_id)):
            async with self.unit_of_work() as uow:
                await uow.deliveries.lock_order(order_id)
                keys = await self._keys_of(uow.deliveries, order_id)
                await uow.deliveries.record_reveal(order_id, visitor.ip, visitor.user_agent)
                summary = await uow.summaries.of_order(order_id)
                await uow.commit()
            logger.info("keys revealed", extra={"key_count": len(keys)})
        return Revealed(order_id, keys, summary)

    async def _refuse_if_revoked(self, order_id: UUID) -> None:
        async with self.unit_of_work() as uow:
            delivery = await uow.deliveries.get(order_id)
        if delivery is not None and delivery.revoked_at is not None:
            raise OrderRefunded(str(order_id))

    async def _keys_of(self, deliveries: Deliveries, order_id: UUID) -> list[DeliveredKey]:
        delivery = await deliveries.get(order_id)
        if delivery is None:
            # Only we sign links, and only for stored deliveries; answer as for a bad link
            # so that the page never says whether an order exists.
            logger.warning("valid link for an order with no delivery")
            raise LinkRefused(LinkProblem.INVALID)
        if delivery.revoked_at is not None:
            raise OrderRefunded(str(order_id))
        if delivery.wrapped_data_key is None:
            raise KeysPurged(str(order_id))
        ciphertext = await self.store.get(delivery.object_key)
        stored = vault.EncryptedKeys(delivery.kek_id, delivery.wrapped_data_key, ciphertext)
        return parse_keys(vault.decrypt(stored, order_id, self.keks))
