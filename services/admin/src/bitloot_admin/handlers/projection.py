"""Recording what the notification topics say about each order (the admin's projection).

Every event carries its own id, so a duplicate (or a replay) is recorded once; events
may arrive in any order, the timeline sorts them by when they happened.
"""

from bitloot_admin.adapters.activity import Activity, record
from bitloot_contracts.events import (
    Event,
    KeysRevoked,
    OrderFailed,
    OrderFulfilled,
    OrderStatusChanged,
    PaymentStatusChanged,
    RefundClaimLinkRequested,
    RefundStatusChanged,
)
from bitloot_runtime.db import UnitOfWork


async def payment_status_changed(event: PaymentStatusChanged, uow: UnitOfWork) -> None:
    await _record(uow, event, event.status)


async def order_status_changed(event: OrderStatusChanged, uow: UnitOfWork) -> None:
    await _record(uow, event, event.status)


async def order_fulfilled(event: OrderFulfilled, uow: UnitOfWork) -> None:
    await _record(uow, event, "fulfilled")


async def order_failed(event: OrderFailed, uow: UnitOfWork) -> None:
    await _record(uow, event, "failed")


async def keys_revoked(event: KeysRevoked, uow: UnitOfWork) -> None:
    await _record(uow, event, "keys_revoked")


async def refund_status_changed(event: RefundStatusChanged, uow: UnitOfWork) -> None:
    await _record(uow, event, f"refund_{event.status}")


async def refund_claim_link_requested(event: RefundClaimLinkRequested, uow: UnitOfWork) -> None:
    await _record(uow, event, "refund_claim_link_requested")


async def _record(uow: UnitOfWork, event: Event, status: str) -> None:
    activity = Activity(event.event_id, event.order_id, event.topic, status, event.occurred_at)
    await record(uow.session, activity)
