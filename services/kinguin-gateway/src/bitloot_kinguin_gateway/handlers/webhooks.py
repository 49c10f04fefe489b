"""Applying an authenticated Kinguin `order.status` notification, in one transaction:
judge it (stale news, an unknown order...), log it with its outcome, drop copies, record
the status, tell fulfillment. And replaying a
logged one (an admin's repair, e.g. for news that came before its reservation)."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from bitloot_contracts.events import KinguinWebhook
from bitloot_kinguin_gateway.domain.reservation import (
    Attempt,
    Reservation,
    as_kinguin_status,
    is_newer,
)
from bitloot_kinguin_gateway.domain.webhook import (
    DUPLICATE,
    LoggedWebhook,
    Notification,
    WebhookCall,
)
from bitloot_kinguin_gateway.handlers.ports import GatewayWork
from bitloot_runtime.logging import log_context
from bitloot_runtime.telemetry import continued

logger = logging.getLogger(__name__)

ORDER_STATUS = "order.status"
SUPERSEDED = "superseded"
KEYS_RETURNED = "keys_returned"


class ApplyOrderStatus:
    """Log the notification once and apply it if it is news about an order we placed;
    whether it repeated one logged before (then it is not applied).

    What becomes of it is decided first (its reservation is locked meanwhile), so that it
    is logged with its outcome in one statement; unless the log finds it a copy of one
    logged before (the first copy's insert decides), the outcome is then carried out."""

    async def __call__(
        self,
        notification: Notification,
        raw_body: bytes,
        headers: Mapping[str, str],
        uow: GatewayWork,
    ) -> bool:
        found = await _found(uow, notification)
        with log_context(order_id=str(found.order_id) if found.order_id else None):
            note = await _judge(uow, notification, found)
            call = WebhookCall(
                notification, raw_body, headers, True, note, found.order_id, applied=note is None
            )
            _, duplicate = await uow.webhooks.record(call)
            if duplicate:
                logger.info("kinguin webhook not applied", extra={"note": DUPLICATE})
                return True
            await _carry_out(uow, notification, found, note)
            return False


class NotReplayable(Exception):
    """A logged call that a replay must not apply; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ReplayWebhook:
    """Apply logged call `row_id` again if it is news now; the row as settled, or None
    when there is no such row. Only authenticated, readable `order.status` calls replay:
    a replay must never let in what the edge refused."""

    async def __call__(self, row_id: int, uow: GatewayWork) -> LoggedWebhook | None:
        logged = await uow.webhooks.get(row_id, for_update=True)
        if logged is None:
            return None
        if not logged.authenticated:
            raise NotReplayable("not_authenticated", f"Webhook {row_id} was not authenticated.")
        if logged.event_name != ORDER_STATUS or logged.updated_at is None:
            raise NotReplayable("not_an_order_status", f"Webhook {row_id} is no order status.")
        if logged.applied:
            raise NotReplayable("already_applied", f"Webhook {row_id} was applied already.")
        # Not a duplicate of itself: whether it is news is decided by updatedAt alone.
        notification = logged.notification()
        found = await _found(uow, notification)
        with log_context(order_id=str(found.order_id) if found.order_id else None):
            note = await _judge(uow, notification, found)
            await _carry_out(uow, notification, found, note)
            await uow.webhooks.settle(
                row_id, order_id=found.order_id, applied=note is None, note=note
            )
        logger.info("kinguin webhook replayed", extra={"webhook_id": row_id})
        return await uow.webhooks.get(row_id)


@dataclass(frozen=True)
class _Found:
    """The attempt and the reservation (locked) a notification is about, if any."""

    attempt: Attempt | None
    reservation: Reservation | None
    # The trace the reservation was opened in: the order's.
    traceparent: str | None = None

    @property
    def order_id(self) -> UUID | None:
        return self.reservation.order_id if self.reservation else None


async def _found(uow: GatewayWork, notification: Notification) -> _Found:
    attempt, reservation, traceparent = await uow.reservations.locate(
        notification.kinguin_order_id,
        notification.order_external_id,
        _uuid(notification.order_external_id),
    )
    return _Found(attempt, reservation, traceparent)


async def _judge(uow: GatewayWork, notification: Notification, found: _Found) -> str | None:
    """Why the notification is not to be applied (its note), or None: it is news."""
    reservation = found.reservation
    note = _reason_to_ignore(notification, reservation)
    if note is not None or reservation is None:
        return note
    if found.attempt is not None and found.attempt.attempt != reservation.attempt:
        # News about a Kinguin order an admin retry replaced (recorded on its attempt,
        # never forwarded: the saga follows the current one only).
        return SUPERSEDED
    if await _refunded_by_us(uow, notification):
        return KEYS_RETURNED
    return None


async def _carry_out(
    uow: GatewayWork, notification: Notification, found: _Found, note: str | None
) -> None:
    """Record what the judged notification says, where it belongs."""
    if note == SUPERSEDED:
        await _superseded(uow, notification, found)
    elif note == KEYS_RETURNED:
        await _keys_returned(uow, notification, found)
    if note is not None or found.reservation is None:
        logger.info("kinguin webhook not applied", extra={"note": note})
        return
    # Kinguin's call carries no trace of ours: the news goes on in the order's trace, its
    # span linked to the request that brought it.
    with continued(
        found.traceparent,
        "kinguin order.status apply",
        attributes={"bitloot.order_id": str(found.reservation.order_id)},
        link_current=True,
    ):
        await _apply(uow, found.reservation.order_id, notification)


def _reason_to_ignore(notification: Notification, reservation: Reservation | None) -> str | None:
    if reservation is None:
        return "unknown_order"
    if as_kinguin_status(notification.status) is None:
        return "unknown_status"
    if not is_newer(notification.updated_at, reservation.kinguin_updated_at):
        return "stale"
    return None


async def _superseded(uow: GatewayWork, notification: Notification, found: _Found) -> None:
    """Record the news on the superseded attempt it is about."""
    status = as_kinguin_status(notification.status)
    if status is not None and notification.kinguin_order_id and found.attempt is not None:
        await uow.reservations.record_attempt_status(
            found.attempt, notification.kinguin_order_id, status
        )


async def _refunded_by_us(uow: GatewayWork, notification: Notification) -> bool:
    """Whether the notification is Kinguin's `refunded` of an order whose keys we asked it
    to take back: our own admin's refund, not news for the saga, which would otherwise
    flag it as "refunded after delivery". Recorded (the reservation shows the status),
    never forwarded."""
    kinguin_order_id = notification.kinguin_order_id
    status = as_kinguin_status(notification.status)
    if status is None or not kinguin_order_id:
        return False
    return await uow.key_returns.refunded_by_us(kinguin_order_id, status)


async def _keys_returned(uow: GatewayWork, notification: Notification, found: _Found) -> None:
    assert found.reservation is not None  # judged so
    assert notification.kinguin_order_id  # judged so
    assert notification.updated_at  # checked by the edge
    await uow.reservations.record_status(
        found.reservation.order_id,
        notification.kinguin_order_id,
        "refunded",
        notification.updated_at,
    )


async def _apply(uow: GatewayWork, order_id: UUID, notification: Notification) -> None:
    status = as_kinguin_status(notification.status)
    kinguin_order_id = notification.kinguin_order_id
    # All three were checked by the edge and by _reason_to_ignore.
    assert status is not None
    assert kinguin_order_id
    assert notification.updated_at
    await uow.reservations.record_status(
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
