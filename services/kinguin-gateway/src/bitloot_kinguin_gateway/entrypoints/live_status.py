"""A reservation's status read live from Kinguin (for an admin; it spends API quota, so
it sits behind the internal service token). Read-only: nothing is recorded or published;
`reservation.poll` is the path that turns news into events."""

import logging
from typing import Any

from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinOrder
from bitloot_kinguin_gateway.adapters.kinguin_errors import KinguinAccessDenied, KinguinRefused
from bitloot_kinguin_gateway.adapters.repository import Reservation
from bitloot_runtime.errors import TransientError
from bitloot_runtime.http import HttpError
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


async def live(kinguin: KinguinClient, reservation: Reservation) -> dict[str, Any]:
    """What Kinguin says now about `reservation`'s order, next to what we recorded."""
    with log_context(order_id=str(reservation.order_id)):
        order = await _ask(kinguin, reservation)
    if order is None:
        raise HttpError(
            404,
            "kinguin_order_not_found",
            f"Kinguin has no order for reservation {reservation.reservation_id}.",
        )
    return {
        "reservation_id": str(reservation.reservation_id),
        "order_id": str(reservation.order_id),
        "kinguin_order_id": order.order_id,
        "kinguin_status": order.status,
        "kinguin_updated_at": order.updated_at.isoformat() if order.updated_at else None,
        "recorded_status": reservation.kinguin_status,
        "recorded_updated_at": (
            reservation.kinguin_updated_at.isoformat() if reservation.kinguin_updated_at else None
        ),
    }


async def _ask(kinguin: KinguinClient, reservation: Reservation) -> KinguinOrder | None:
    try:
        if reservation.kinguin_order_id:
            return await kinguin.get_order(reservation.kinguin_order_id)
        return await kinguin.find_by_external_id(reservation.external_id)
    except KinguinAccessDenied as exc:
        logger.error("kinguin rejected our API key", extra={"error": str(exc)})
        raise HttpError(502, exc.code, str(exc)) from None
    except KinguinRefused as exc:
        raise HttpError(502, exc.code, str(exc)) from None
    except TransientError as exc:
        logger.warning("kinguin status unavailable", extra={"error": str(exc)})
        raise HttpError(503, "kinguin_unavailable", str(exc)) from None
