"""Returning an order's unrevealed keys to Kinguin when an admin refunds it, once.

Delivery emits `keys.revoked` when an admin refunds a fulfilled order whose keys were
never revealed. Kinguin takes such keys back and refunds their price to our balance
(features/ReturnKeys.md), but accepts only ONE return request per order, within 24 hours
of delivery and never for a pre-order. So, for each completed Kinguin order of ours:

- Kinguin's order is read first (a read is safe): a pre-order, or keys delivered over
  24 hours ago by our records, is recorded `not_returnable` with the reason, unasked.
- Otherwise the request is recorded `requested` and committed, in a transaction of its
  own, BEFORE Kinguin is called. Kinguin's answer settles it `returned`, or `refused`
  with Kinguin's reason: a refusal is recorded, never retried.
- A retry that finds the row still `requested` (a crash, a timeout, a 5xx: the request
  may have been carried out) never asks again: it reads the order and records
  `returned` if its keys were taken back, else `unknown`, for an admin to check.

The customer's refund does not depend on any of this: payments records it from the
same `keys.revoked`, whatever Kinguin does. Nothing here ever sees a key.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bitloot_contracts.events import KeysRevoked
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinOrder
from bitloot_kinguin_gateway.adapters.kinguin_errors import KinguinRefused
from bitloot_kinguin_gateway.domain.key_return import (
    NO_RETURN_SEEN,
    NOT_RETURNABLE,
    REFUSED,
    REQUESTED,
    RETURNED,
    UNKNOWN,
    KeyReturn,
    not_returnable_reason,
    return_happened,
)
from bitloot_kinguin_gateway.domain.reservation import Reservation, is_live
from bitloot_kinguin_gateway.handlers.ports import GatewayWork, KeyReturns
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class ReturnKeys:
    """Handles `keys.revoked`."""

    def __init__(self, kinguin: KinguinClient, unit_of_work: Callable[[], GatewayWork]) -> None:
        self._kinguin = kinguin
        self._unit_of_work = unit_of_work

    async def __call__(self, event: KeysRevoked, uow: GatewayWork) -> None:
        with log_context(order_id=str(event.order_id)):
            repository = uow.reservations
            await repository.lock_order(event.order_id)
            reservation = await repository.get(event.order_id)
            completed = [
                a.kinguin_order_id
                for a in await repository.attempts(event.order_id)
                if a.kinguin_order_id and is_live(a.kinguin_status)
            ]
            if reservation is None or not completed:
                logger.info("keys revoked; no live kinguin order to return keys of")
                return
            for kinguin_order_id in completed:
                await self._return(uow, event, reservation, kinguin_order_id)

    async def _return(
        self, uow: GatewayWork, event: KeysRevoked, reservation: Reservation, kinguin_order_id: str
    ) -> None:
        returns = uow.key_returns
        known = await returns.get(kinguin_order_id)
        if known is not None and known.state != REQUESTED:
            logger.info(
                "kinguin key return settled already; not asking again",
                extra={"kinguin_order_id": kinguin_order_id, "outcome": known.state},
            )
            return
        order = await self._kinguin.get_order(kinguin_order_id)
        if known is not None:
            await self._after_lost_answer(returns, known, order)
            return
        reason = not_returnable_reason(
            is_preorder=order.is_preorder or any(line.is_preorder for line in order.lines),
            status=order.status,
            delivered_at=delivered_at(reservation),
            now=datetime.now(UTC),
        )
        if reason is not None:
            await returns.add(
                kinguin_order_id,
                event.order_id,
                NOT_RETURNABLE,
                requested_by=event.revoked_by,
                reason=reason,
            )
            _log_outcome(kinguin_order_id, NOT_RETURNABLE, reason, None)
            return
        if not await self._commit_requested(event, kinguin_order_id):
            # Another run recorded it between our read and our insert: it asks, not us.
            return
        try:
            taken = await self._kinguin.return_keys(kinguin_order_id)
        except KinguinRefused as refused:
            reason = f"{refused.code}: {refused}"
            await returns.settle(kinguin_order_id, REFUSED, reason=reason, key_count=None)
            _log_outcome(kinguin_order_id, REFUSED, reason, None)
            return
        await returns.settle(kinguin_order_id, RETURNED, reason=None, key_count=len(taken))
        _log_outcome(kinguin_order_id, RETURNED, None, len(taken))

    async def _commit_requested(self, event: KeysRevoked, kinguin_order_id: str) -> bool:
        """The request recorded and committed before Kinguin hears it (one per order)."""
        async with self._unit_of_work() as own:
            added = await own.key_returns.add(
                kinguin_order_id, event.order_id, REQUESTED, requested_by=event.revoked_by
            )
            await own.commit()
        return added

    @staticmethod
    async def _after_lost_answer(
        returns: KeyReturns, known: KeyReturn, order: KinguinOrder
    ) -> None:
        """A request was recorded but its answer never settled it: the order tells
        whether it was carried out; it is never sent again either way."""
        statuses = [key.status for line in order.lines for key in line.keys]
        if return_happened(order.status, statuses):
            count = sum(1 for s in statuses if s in ("RETURNED", "REFUNDED")) or None
            await returns.settle(known.kinguin_order_id, RETURNED, reason=None, key_count=count)
            _log_outcome(known.kinguin_order_id, RETURNED, None, count)
            return
        await returns.settle(known.kinguin_order_id, UNKNOWN, reason=NO_RETURN_SEEN, key_count=None)
        _log_outcome(known.kinguin_order_id, UNKNOWN, NO_RETURN_SEEN, None)


def delivered_at(reservation: Reservation) -> datetime | None:
    """When the keys were delivered, by our records: Kinguin's time of the completed
    status if we heard it, else when we fetched the keys."""
    if reservation.kinguin_status == "completed" and reservation.kinguin_updated_at:
        return reservation.kinguin_updated_at
    return reservation.keys_sealed_at


def _log_outcome(
    kinguin_order_id: str, outcome: str, reason: str | None, count: int | None
) -> None:
    level = logging.INFO if outcome == RETURNED else logging.WARNING
    logger.log(
        level,
        "kinguin key return settled",
        extra={
            "kinguin_order_id": kinguin_order_id,
            "outcome": outcome,
            "reason": reason,
            "key_count": count,
        },
    )
