"""A presigned GET of an order's ciphertext object, for an admin (to hand to a backup
or forensics tool): short-lived, audited, and never more than the ciphertext."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.handlers.links import DeliveryNotFound
from bitloot_delivery.handlers.ports import DeliveryWork, KeyEvent, ObjectStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PresignedObject:
    url: str
    expires_at: datetime


@dataclass(kw_only=True, eq=False, repr=False)
class PresignObject:
    unit_of_work: Callable[[], DeliveryWork]
    store: ObjectStore

    async def __call__(self, order_id: UUID, ttl_seconds: int, actor: str) -> PresignedObject:
        """`DeliveryNotFound`, `KeysPurged`, or ValueError for a TTL beyond 7 days."""
        async with self.unit_of_work() as uow:
            delivery = await uow.deliveries.get(order_id)
            if delivery is None:
                raise DeliveryNotFound()
            if delivery.purged_at is not None:
                raise KeysPurged(str(order_id))
            url = await self.store.presigned_get(delivery.object_key, ttl_seconds)
            event = KeyEvent("object_url_issued", actor, detail=f"ttl_seconds={ttl_seconds}")
            await uow.deliveries.record_event(order_id, event)
            await uow.commit()
        logger.info("presigned object URL issued", extra={"order_id": str(order_id)})
        return PresignedObject(url, datetime.now(UTC) + timedelta(seconds=ttl_seconds))
