"""Recording a refund's story on the bus (the admin's projection): each status change of a
refund, each new claim link the customer asked for, and keys revoked for a refund.

No service keeps these whole (payments keeps a refund's present state, delivery only the
emails it sent), and they happen to few orders. Everything else on an order's timeline is
read from the service that did it (`handlers.orders`), so an ordinary order costs the
admin no transaction.

Every event carries its own id, so a duplicate (or a replay) is recorded once; events
may arrive in any order, the timeline sorts them by when they happened.
"""

from bitloot_admin.adapters.activity import Activity, record
from bitloot_contracts.events import (
    Event,
    KeysRevoked,
    RefundClaimLinkRequested,
    RefundStatusChanged,
)
from bitloot_runtime.db import UnitOfWork


async def keys_revoked(event: KeysRevoked, uow: UnitOfWork) -> None:
    await _record(uow, event, "keys_revoked")


async def refund_status_changed(event: RefundStatusChanged, uow: UnitOfWork) -> None:
    await _record(uow, event, f"refund_{event.status}")


async def refund_claim_link_requested(event: RefundClaimLinkRequested, uow: UnitOfWork) -> None:
    await _record(uow, event, "refund_claim_link_requested")


async def _record(uow: UnitOfWork, event: Event, status: str) -> None:
    activity = Activity(event.event_id, event.order_id, event.topic, status, event.occurred_at)
    await record(uow.session, activity)
