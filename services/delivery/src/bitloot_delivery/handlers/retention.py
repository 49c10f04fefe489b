"""Retention: keys older than the configured period are deleted from the object store,
their wrapped data key forgotten, and an audit row written; never a moment earlier.

The object is deleted before the row is marked purged, inside the row's lock: a crash in
between leaves a row that the next sweep deletes again (a no-op for S3), never a row
claiming keys that are gone while they still exist. Runs as a background loop and as
``python -m bitloot_delivery retention``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bitloot_delivery.domain.retention import RetentionPolicy
from bitloot_delivery.handlers.ports import DeliveryWork, KeyEvent, ObjectStore

logger = logging.getLogger(__name__)

RATE_LIMIT_MEMORY = timedelta(days=1)


@dataclass(kw_only=True, eq=False, repr=False)
class RetentionSweep:
    unit_of_work: Callable[[], DeliveryWork]
    store: ObjectStore
    policy: RetentionPolicy
    batch_size: int = 100

    async def sweep(self, dry_run: bool = False) -> list[UUID]:
        """Purge every delivery past retention; the orders purged (or, with `dry_run`,
        those that would be, with nothing changed)."""
        purged: list[UUID] = []
        while batch := await self._batch(dry_run, len(purged) if dry_run else 0):
            purged += batch
        if not dry_run:
            await self._forget_old_rate_limits()
        if purged:
            logger.info(
                "keys past retention purged", extra={"count": len(purged), "dry_run": dry_run}
            )
        return purged

    async def _batch(self, dry_run: bool, offset: int) -> list[UUID]:
        cutoff = self.policy.stored_before(datetime.now(UTC))
        async with self.unit_of_work() as uow:
            due = await uow.deliveries.due_for_purge(cutoff, self.batch_size, offset)
            if dry_run:
                return [order_id for order_id, _ in due]
            for order_id, object_key in due:
                await self.store.delete(object_key)
                await uow.deliveries.mark_purged(order_id)
                event = KeyEvent(
                    "keys_purged", "retention", detail=f"stored before {cutoff.isoformat()}"
                )
                await uow.deliveries.record_event(order_id, event)
            await uow.commit()
        return [order_id for order_id, _ in due]

    async def _forget_old_rate_limits(self) -> None:
        async with self.unit_of_work() as uow:
            await uow.rate_limits.forget_before(datetime.now(UTC) - RATE_LIMIT_MEMORY)
            await uow.commit()
