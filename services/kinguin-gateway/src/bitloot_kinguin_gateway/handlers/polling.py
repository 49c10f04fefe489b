"""Asking Kinguin for an order's status when its webhook is late or lost."""

import logging
from datetime import UTC, datetime

from bitloot_contracts.events import KinguinWebhook, ReservationPoll
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinOrder
from bitloot_kinguin_gateway.domain.reservation import Reservation, is_newer
from bitloot_kinguin_gateway.handlers.ports import GatewayWork
from bitloot_kinguin_gateway.handlers.reservations import known_status
from bitloot_runtime.errors import PermanentError
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class Poll:
    """Handles `reservation.poll`: asks Kinguin for the order's status, in case its
    webhook was lost, and reports it like a webhook if it is news."""

    def __init__(self, kinguin: KinguinClient) -> None:
        self._kinguin = kinguin

    async def __call__(self, event: ReservationPoll, uow: GatewayWork) -> None:
        with log_context(order_id=str(event.order_id)):
            repository = uow.reservations
            reservation = await repository.get(event.order_id, for_update=True)
            if reservation is None:
                raise PermanentError("unknown_order", f"No reservation for {event.order_id}.")
            order = await self._look_up(event, reservation)
            if order is None:
                logger.info("kinguin has no order for this reservation yet")
                return
            status = known_status(order.status)
            if order.updated_at is not None:
                news = is_newer(order.updated_at, reservation.kinguin_updated_at)
            else:
                news = status != reservation.kinguin_status
            if not news:
                return
            await repository.record_status(event.order_id, order.order_id, status, order.updated_at)
            if await uow.key_returns.refunded_by_us(order.order_id, status):
                # Our own key return (see handlers.webhooks): not news for the saga.
                logger.info("kinguin refunded after our key return; not reported")
                return
            await uow.emit(
                KinguinWebhook(
                    order_id=event.order_id,
                    kinguin_order_id=order.order_id,
                    status=status,
                    updated_at=order.updated_at or datetime.now(UTC),
                )
            )
            logger.info("kinguin status polled", extra={"status": status})

    async def _look_up(
        self, event: ReservationPoll, reservation: Reservation
    ) -> KinguinOrder | None:
        kinguin_order_id = event.kinguin_order_id or reservation.kinguin_order_id
        if kinguin_order_id:
            return await self._kinguin.get_order(kinguin_order_id)
        return await self._kinguin.find_by_external_id(reservation.external_id)
