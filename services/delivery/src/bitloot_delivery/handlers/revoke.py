"""Revoking an order's keys when an admin refunds it with its keys never revealed (the
supplier refunds unclaimed keys): in one transaction holding the order's lock, refuse if
the key audit shows any reveal, else mark the delivery revoked, withdraw the key emails
still waiting to go out, and emit keys.revoked (payments then records the refund due).

The reveal takes the same lock and checks the mark in its own transaction, so a reveal
and a revoke racing each other never both succeed: whichever commits first wins, and
the other sees it.

The ciphertext and its wrapped data key are kept (the audit may need to show what was
delivered, and retention purges them in time like any other), but nothing reveals them
again: the reveal, every fresh link and every link email refuse a revoked order.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from bitloot_contracts.events import KeysRevoked
from bitloot_delivery.domain.revocation import RevokeRefused
from bitloot_delivery.handlers.ports import DeliveryWork, KeyEvent
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Revoked:
    order_id: UUID
    key_count: int
    revoked_at: datetime


@dataclass(kw_only=True, eq=False, repr=False)
class RevokeKeys:
    unit_of_work: Callable[[], DeliveryWork]

    async def __call__(self, order_id: UUID, actor: str, note: str | None) -> Revoked:
        """Revoke the order's keys; `RevokeRefused` (no_keys, already_revoked,
        keys_revealed) changes nothing."""
        with log_context(order_id=str(order_id)):
            async with self.unit_of_work() as uow:
                await uow.deliveries.lock_order(order_id)
                delivery = await uow.deliveries.get(order_id)
                if delivery is None:
                    raise RevokeRefused("no_keys", f"No keys were delivered for order {order_id}.")
                if delivery.revoked_at is not None:
                    raise RevokeRefused(
                        "already_revoked", f"The keys of order {order_id} are already revoked."
                    )
                if await uow.deliveries.reveal_count(order_id) > 0:
                    raise RevokeRefused(
                        "keys_revealed", f"The keys of order {order_id} were revealed."
                    )
                revoked_at = await uow.deliveries.mark_revoked(order_id, actor, note)
                withdrawn = await uow.notices.withdraw_key_emails(order_id)
                event = KeyEvent("revoked", actor, detail=note)
                await uow.deliveries.record_event(order_id, event)
                await uow.emit(
                    KeysRevoked(
                        order_id=order_id,
                        key_count=delivery.key_count,
                        revoked_by=actor,
                        note=note,
                    )
                )
                await uow.commit()
            logger.info("keys revoked", extra={"actor": actor, "withdrawn_emails": withdrawn})
        return Revoked(order_id, delivery.key_count, revoked_at)
