"""Rotating the key-encryption key: re-wrap every stored data key with the current KEK.

Batches of rows are locked `FOR UPDATE SKIP LOCKED` and committed one batch at a time,
so the service keeps running (a reveal reads either the old or the new wrapping, both
consistent), two re-wrappers share the work, and a run cut short is simply started
again: rows already under the current KEK are never selected (idempotent). A data key
that will not unwrap (its KEK no longer configured, or tampered) is reported and left
as it is, never half-rewritten.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from bitloot_delivery.domain import vault
from bitloot_delivery.handlers.ports import DeliveryWork, KeyEvent

logger = logging.getLogger(__name__)


@dataclass
class RewrapReport:
    rewrapped: int = 0
    failed: list[UUID] = field(default_factory=list)


@dataclass(kw_only=True, eq=False, repr=False)
class Rewrap:
    unit_of_work: Callable[[], DeliveryWork]
    keks: vault.KeyEncryptionKeys
    batch_size: int = 100

    async def __call__(
        self, progress: Callable[[RewrapReport], None] = lambda _: None
    ) -> RewrapReport:
        """Re-wrap until no row needs it; `progress` is called after every batch."""
        report = RewrapReport()
        while await self._batch(report):
            progress(report)
        return report

    async def _batch(self, report: RewrapReport) -> bool:
        async with self.unit_of_work() as uow:
            rows = await uow.deliveries.wrapped_by_other_keks(
                self.keks.current_id, self.batch_size, report.failed
            )
            for order_id, kek_id, wrapped in rows:
                try:
                    new_id, new_wrapped = vault.rewrap_data_key(
                        kek_id, wrapped, order_id, self.keks
                    )
                except vault.VaultError as exc:
                    logger.error(
                        "data key not re-wrapped",
                        extra={"order_id": str(order_id), "error": str(exc)},
                    )
                    report.failed.append(order_id)
                    continue
                await uow.deliveries.set_wrapped_data_key(order_id, new_id, new_wrapped)
                detail = f"{kek_id} -> {new_id}"
                await uow.deliveries.record_event(
                    order_id, KeyEvent("rewrapped", "rewrap", detail=detail)
                )
                report.rewrapped += 1
            await uow.commit()
        return bool(rows)
