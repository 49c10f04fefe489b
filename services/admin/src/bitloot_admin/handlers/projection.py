"""Recording what the notification topics say about each order (the admin's projection).

Every event carries its own id, so a duplicate (or a replay) is recorded once; events
may arrive in any order, the timeline sorts them by when they happened.
"""

from bitloot_admin.adapters.activity import Activity, record
from bitloot_contracts.events import (
    Event,
    OrderFailed,
    OrderFulfilled,
    OrderStatusChanged,
    PaymentStatusChanged,
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


async def _record(uow: UnitOfWork, event: Event, status: str) -> None:
    activity = Activity(event.event_id, event.order_id, event.topic, status, event.occurred_at)
    await record(uow.session, activity)
