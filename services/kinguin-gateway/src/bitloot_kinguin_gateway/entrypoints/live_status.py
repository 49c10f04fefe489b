"""A reservation's status read live from Kinguin (for an admin; it spends API quota, so
it sits behind the internal service token). Read-only: nothing is recorded or published;
`reservation.poll` is the path that turns news into events. Kinguin's refusals are
answered by the gateway's `edge.REFUSALS`."""

from uuid import UUID

from pydantic import BaseModel

from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinOrder
from bitloot_kinguin_gateway.adapters.repository import Reservation
from bitloot_runtime.http import HttpError, Moment
from bitloot_runtime.logging import log_context


class LiveStatus(BaseModel):
    """What Kinguin says now about a reservation's order, next to what we recorded."""

    reservation_id: UUID
    order_id: UUID
    kinguin_order_id: str
    kinguin_status: str
    kinguin_updated_at: Moment | None
    recorded_status: str | None
    recorded_updated_at: Moment | None


async def live(kinguin: KinguinClient, reservation: Reservation) -> LiveStatus:
    """`reservation`'s order as Kinguin sees it; 404 when Kinguin has none."""
    with log_context(order_id=str(reservation.order_id)):
        order = await _ask(kinguin, reservation)
    if order is None:
        raise HttpError(
            404,
            "kinguin_order_not_found",
            f"Kinguin has no order for reservation {reservation.reservation_id}.",
        )
    return LiveStatus.model_validate(
        {
            "reservation_id": reservation.reservation_id,
            "order_id": reservation.order_id,
            "kinguin_order_id": order.order_id,
            "kinguin_status": order.status,
            "kinguin_updated_at": order.updated_at,
            "recorded_status": reservation.kinguin_status,
            "recorded_updated_at": reservation.kinguin_updated_at,
        }
    )


async def _ask(kinguin: KinguinClient, reservation: Reservation) -> KinguinOrder | None:
    if reservation.kinguin_order_id:
        return await kinguin.get_order(reservation.kinguin_order_id)
    return await kinguin.find_by_external_id(reservation.external_id)
