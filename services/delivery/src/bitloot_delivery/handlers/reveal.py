"""Revealing an order's keys to the holder of its link: verify, decrypt, audit.

The keys are decrypted in memory for this one answer; every reveal is recorded (when,
from which address and browser) in the same transaction that marks the delivery viewed.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from bitloot_delivery.adapters.object_store import S3ObjectStore
from bitloot_delivery.adapters.repository import DeliveryRepository
from bitloot_delivery.domain import vault
from bitloot_delivery.domain.keys import DeliveredKey, parse_keys
from bitloot_delivery.domain.links import LinkProblem, LinkRefused, RevealLinks
from bitloot_delivery.domain.retention import KeysPurged
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Visitor:
    ip: str | None
    user_agent: str | None


class RevealKeys:
    """The reveal use case: a token in, the order's keys out (or `LinkRefused`)."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        store: S3ObjectStore,
        links: RevealLinks,
        keks: vault.KeyEncryptionKeys,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._store = store
        self._links = links
        self._keks = keks

    async def __call__(self, token: str, visitor: Visitor) -> list[DeliveredKey]:
        """The keys; `LinkRefused` for a bad link, `KeysPurged` past retention."""
        order_id = self._links.verify(token)
        with log_context(order_id=str(order_id)):
            async with self._unit_of_work() as uow:
                repository = DeliveryRepository(uow.session)
                keys = await self._keys_of(repository, order_id)
                await repository.record_reveal(order_id, visitor.ip, visitor.user_agent)
                await uow.commit()
            logger.info("keys revealed", extra={"key_count": len(keys)})
        return keys

    async def _keys_of(self, repository: DeliveryRepository, order_id: UUID) -> list[DeliveredKey]:
        delivery = await repository.get(order_id)
        if delivery is None:
            # Only we sign links, and only for stored deliveries; answer as for a bad link
            # so that the page never says whether an order exists.
            logger.warning("valid link for an order with no delivery")
            raise LinkRefused(LinkProblem.INVALID)
        if delivery.wrapped_data_key is None:
            raise KeysPurged(str(order_id))
        ciphertext = await self._store.get(delivery.object_key)
        stored = vault.EncryptedKeys(delivery.kek_id, delivery.wrapped_data_key, ciphertext)
        return parse_keys(vault.decrypt(stored, order_id, self._keks))
