"""Applying an authenticated Kinguin `order.status` notification, in one transaction:
log it, drop copies and stale news, record the status, tell fulfillment. And replaying a
logged one (an admin's repair, e.g. for news that came before its reservation)."""

import logging
from collections.abc import Mapping
from uuid import UUID

from bitloot_contracts.events import KinguinWebhook
from bitloot_kinguin_gateway.adapters.key_returns import KeyReturnRepository
from bitloot_kinguin_gateway.adapters.repository import (
    Attempt,
    Reservation,
    ReservationRepository,
)
from bitloot_kinguin_gateway.adapters.webhook_log import LoggedWebhook, Notification, WebhookLog
from bitloot_kinguin_gateway.domain.reservation import as_kinguin_status, is_newer
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)

ORDER_STATUS = "order.status"


async def order_status(
    uow: UnitOfWork, notification: Notification, raw_body: bytes, headers: Mapping[str, str]
) -> None:
    """Log the notification once and apply it if it is news about an order we placed."""
    row_id, duplicate = await WebhookLog(uow).record(
        notification, raw_body=raw_body, headers=headers, authenticated=True
    )
    await _settle(uow, row_id, notification, duplicate=duplicate)


class NotReplayable(Exception):
    """A logged call that a replay must not apply; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def replay(uow: UnitOfWork, row_id: int) -> LoggedWebhook | None:
    """Apply logged call `row_id` again if it is news now; the row as settled, or None
    when there is no such row. Only authenticated, readable `order.status` calls replay:
    a replay must never let in what the edge refused."""
    log = WebhookLog(uow)
    logged = await log.get(row_id, for_update=True)
    if logged is None:
        return None
    if not logged.authenticated:
        raise NotReplayable("not_authenticated", f"Webhook {row_id} was not authenticated.")
    if logged.event_name != ORDER_STATUS or logged.updated_at is None:
        raise NotReplayable("not_an_order_status", f"Webhook {row_id} is no order status.")
    if logged.applied:
        raise NotReplayable("already_applied", f"Webhook {row_id} was applied already.")
    # Not a duplicate of itself: whether it is news is decided by updatedAt alone.
    await _settle(uow, row_id, logged.notification(), duplicate=False)
    logger.info("kinguin webhook replayed", extra={"webhook_id": row_id})
    return await log.get(row_id)


async def _settle(
    uow: UnitOfWork, row_id: int, notification: Notification, *, duplicate: bool
) -> None:
    log = WebhookLog(uow)
    repository = ReservationRepository(uow)
    attempt, reservation = await repository.locate(
        notification.kinguin_order_id,
        notification.order_external_id,
        _uuid(notification.order_external_id),
    )
    order_id = reservation.order_id if reservation else None
    with log_context(order_id=str(order_id) if order_id else None):
        note = _reason_to_ignore(notification, duplicate, reservation)
        if note is None and attempt is not None and reservation is not None:
            note = await _superseded(repository, notification, attempt, reservation)
        if note is None and reservation is not None:
            note = await _keys_returned(uow, notification, reservation)
        if note is not None or reservation is None:
            logger.info("kinguin webhook not applied", extra={"note": note})
            await log.settle(row_id, order_id=order_id, applied=False, note=note)
            return
        await _apply(uow, reservation.order_id, notification)
        await log.settle(row_id, order_id=order_id, applied=True, note=None)


def _reason_to_ignore(
    notification: Notification, duplicate: bool, reservation: Reservation | None
) -> str | None:
    if duplicate:
        return "duplicate"
    if reservation is None:
        return "unknown_order"
    if as_kinguin_status(notification.status) is None:
        return "unknown_status"
    if not is_newer(notification.updated_at, reservation.kinguin_updated_at):
        return "stale"
    return None


async def _superseded(
    repository: ReservationRepository,
    notification: Notification,
    attempt: Attempt,
    reservation: Reservation,
) -> str | None:
    """ "superseded" for news about a Kinguin order an admin retry replaced (recorded on
    its attempt, never forwarded: the saga follows the current one only)."""
    if attempt.attempt == reservation.attempt:
        return None
    status = as_kinguin_status(notification.status)
    if status is not None and notification.kinguin_order_id:
        await repository.record_attempt_status(attempt, notification.kinguin_order_id, status)
    return "superseded"


async def _keys_returned(
    uow: UnitOfWork, notification: Notification, reservation: Reservation
) -> str | None:
    """ "keys_returned" for Kinguin's `refunded` of an order whose keys we asked it to take
    back: our own admin's refund, not news for the saga, which would otherwise flag it as
    "refunded after delivery". Recorded here (the reservation shows the status), never
    forwarded."""
    kinguin_order_id = notification.kinguin_order_id
    status = as_kinguin_status(notification.status)
    if status is None or not kinguin_order_id:
        return None
    if not await KeyReturnRepository(uow.session).refunded_by_us(kinguin_order_id, status):
        return None
    assert notification.updated_at  # checked by the edge
    await ReservationRepository(uow).record_status(
        reservation.order_id, kinguin_order_id, "refunded", notification.updated_at
    )
    return "keys_returned"


async def _apply(uow: UnitOfWork, order_id: UUID, notification: Notification) -> None:
    status = as_kinguin_status(notification.status)
    kinguin_order_id = notification.kinguin_order_id
    # All three were checked by the edge and by _reason_to_ignore.
    assert status is not None
    assert kinguin_order_id
    assert notification.updated_at
    await ReservationRepository(uow).record_status(
        order_id, kinguin_order_id, status, notification.updated_at
    )
    await uow.emit(
        KinguinWebhook(
            order_id=order_id,
            kinguin_order_id=kinguin_order_id,
            status=status,
            updated_at=notification.updated_at,
        )
    )
    logger.info("kinguin status applied", extra={"status": status})


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None
