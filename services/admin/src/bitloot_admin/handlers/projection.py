"""Recording a refund's story on the bus (the admin's projection): each status change of a
refund, each new claim link the customer asked for, and keys revoked for a refund.

No service keeps these whole (payments keeps a refund's present state, delivery only the
emails it sent), and they happen to few orders. Everything else on an order's timeline is
read from the service that did it (`handlers.orders`), so an ordinary order costs the
admin no transaction.

Every event carries its own id, so a duplicate (or a replay) is recorded once; events
may arrive in any order, the timeline sorts them by when they happened.
"""

from collections.abc import Callable
from uuid import UUID

from bitloot_admin.domain.refunds import Activity
from bitloot_admin.handlers.ports import AdminWork
from bitloot_contracts.events import KeysRevoked, RefundClaimLinkRequested, RefundStatusChanged

Told = KeysRevoked | RefundStatusChanged | RefundClaimLinkRequested


class ProjectActivity:
    """Record one event of a refund's story in the unit of work the runtime opened."""

    async def __call__(self, event: Told, uow: AdminWork) -> None:
        activity = Activity(
            event.event_id, event.order_id, event.topic, _status(event), event.occurred_at
        )
        await uow.activity.add(activity)


def _status(event: Told) -> str:
    if isinstance(event, RefundStatusChanged):
        return f"refund_{event.status}"
    if isinstance(event, KeysRevoked):
        return "keys_revoked"
    return "refund_claim_link_requested"


async def activity_of(work: Callable[[], AdminWork], order_id: UUID) -> list[Activity]:
    """What the projection recorded of `order_id`, oldest first."""
    async with work() as uow:
        return await uow.activity.of_order(order_id)
