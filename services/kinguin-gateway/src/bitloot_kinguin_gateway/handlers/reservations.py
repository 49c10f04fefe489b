"""Buying an order's keys at Kinguin exactly once, and polling it when webhooks are late.

Exactly once (ARCHITECTURE §3.3): the reservation row is committed in state `placing`, in
a transaction of its own, before Kinguin is called, and our order id goes to Kinguin as
`orderExternalId`. Whatever happens next (a crash, a timeout, a duplicate message), the
retry finds the row still `placing` and asks Kinguin for the order by external id
before it may place one.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bitloot_contracts.events import (
    KinguinOrderStatus,
    KinguinWebhook,
    ReservationCreated,
    ReservationFailed,
    ReservationPoll,
    ReservationRequested,
)
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinOrder, KinguinProduct
from bitloot_kinguin_gateway.adapters.repository import Reservation, ReservationRepository
from bitloot_kinguin_gateway.domain.reservation import as_kinguin_status, is_newer
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.errors import PermanentError, TransientError
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class Reserve:
    """Handles `reservation.requested`."""

    def __init__(self, kinguin: KinguinClient, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._kinguin = kinguin
        self._unit_of_work = unit_of_work

    async def __call__(self, event: ReservationRequested, uow: UnitOfWork) -> None:
        with log_context(order_id=str(event.order_id)):
            repository = ReservationRepository(uow.session)
            await repository.lock_order(event.order_id)
            reservation = await self._commit_placing(event)
            if reservation.state != "placing":
                # Another request for the same order already settled it and said so.
                logger.info("reservation already settled", extra={"state": reservation.state})
                return
            # Looked up first, outside the `try`: a failed look-up must never fail the order.
            order = await self._kinguin.find_by_external_id(str(event.order_id))
            if order is None:
                try:
                    order = await self._place(event)
                except PermanentError as exc:
                    await self._fail(uow, event, exc)
                    return
            else:
                logger.info("kinguin order found by external id; not buying again")
            status = _status(order.status)
            await repository.mark_placed(event.order_id, order.order_id, status)
            logger.info(
                "kinguin order placed",
                extra={"kinguin_order_id": order.order_id, "status": status},
            )
            await uow.emit(
                ReservationCreated(
                    order_id=event.order_id, kinguin_order_id=order.order_id, status=status
                )
            )

    async def _commit_placing(self, event: ReservationRequested) -> Reservation:
        lines = [line.model_dump(mode="json") for line in event.lines]
        async with self._unit_of_work() as own:
            reservation = await ReservationRepository(own.session).add_placing(
                event.order_id, lines
            )
            await own.commit()
        return reservation

    async def _place(self, event: ReservationRequested) -> KinguinOrder:
        # The ceiling goes to Kinguin as the price: it refuses to sell above it.
        products = [
            KinguinProduct(line.kinguin_product_id, line.qty, line.max_unit_price)
            for line in event.lines
        ]
        return await self._kinguin.place_order(str(event.order_id), products)

    @staticmethod
    async def _fail(uow: UnitOfWork, event: ReservationRequested, error: PermanentError) -> None:
        logger.warning("kinguin refused the order", extra={"code": error.code})
        await ReservationRepository(uow.session).mark_failed(event.order_id, error.code, str(error))
        await uow.emit(
            ReservationFailed(order_id=event.order_id, code=error.code, reason=str(error))
        )


def _status(value: str) -> KinguinOrderStatus:
    status = as_kinguin_status(value)
    if status is None:
        raise TransientError(f"Kinguin reported an unknown order status {value!r}.")
    return status


class Poll:
    """Handles `reservation.poll`: asks Kinguin for the order's status, in case its
    webhook was lost, and reports it like a webhook if it is news."""

    def __init__(self, kinguin: KinguinClient) -> None:
        self._kinguin = kinguin

    async def __call__(self, event: ReservationPoll, uow: UnitOfWork) -> None:
        with log_context(order_id=str(event.order_id)):
            repository = ReservationRepository(uow.session)
            reservation = await repository.get(event.order_id, for_update=True)
            if reservation is None:
                raise PermanentError("unknown_order", f"No reservation for {event.order_id}.")
            order = await self._look_up(event, reservation)
            if order is None:
                logger.info("kinguin has no order for this reservation yet")
                return
            status = _status(order.status)
            if order.updated_at is not None:
                news = is_newer(order.updated_at, reservation.kinguin_updated_at)
            else:
                news = status != reservation.kinguin_status
            if not news:
                return
            await repository.record_status(event.order_id, order.order_id, status, order.updated_at)
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
        return await self._kinguin.find_by_external_id(str(event.order_id))
