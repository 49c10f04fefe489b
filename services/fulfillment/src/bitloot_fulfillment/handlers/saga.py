"""Apply each consumed event to its order's saga and emit what the saga decided.

Events about an order may overtake the `payment.finished` that starts its saga (they
travel on other queues); such an event is retried, not rejected, until the saga exists.
A refund's status is the exception: a refund of an order that was never paid in full (a
payment flag's money going back) has no saga to wait for, and payments shows it.
"""

import logging
from collections.abc import Callable
from dataclasses import replace
from uuid import UUID

from bitloot_contracts.events import (
    DeliveryCompleted,
    DeliveryFailed,
    KeysDelivered,
    KinguinWebhook,
    PaymentFinished,
    RefundStatusChanged,
    ReservationCreated,
    ReservationFailed,
)
from bitloot_fulfillment.adapters.repository import SagaRepository
from bitloot_fulfillment.domain.saga import OrderSaga
from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.errors import TransientError

logger = logging.getLogger(__name__)


class SagaNotStarted(TransientError):
    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"No saga for order {order_id} yet; its payment.finished may be late.")


async def start_saga(event: PaymentFinished, uow: UnitOfWork, policy: TimerPolicy) -> None:
    saga = OrderSaga.start(event, policy)
    # With its first step's transitions, timers and events, in one statement; a second
    # payment event for the same order starts nothing new and stores nothing.
    await SagaRepository(uow).add(saga)


async def reservation_created(event: ReservationCreated, uow: UnitOfWork) -> None:
    await _apply(
        uow,
        event.order_id,
        lambda s: s.reservation_created(
            event.kinguin_order_id,
            event.status,
            is_preorder=event.is_preorder,
            release_date=event.preorder_release_date,
        ),
    )


async def reservation_failed(event: ReservationFailed, uow: UnitOfWork) -> None:
    await _apply(uow, event.order_id, lambda s: s.reservation_failed(event.code, event.reason))


async def kinguin_status_changed(event: KinguinWebhook, uow: UnitOfWork) -> None:
    await _apply(
        uow,
        event.order_id,
        lambda s: s.kinguin_status_changed(event.kinguin_order_id, event.status, event.updated_at),
    )


async def keys_delivered(event: KeysDelivered, uow: UnitOfWork) -> None:
    # Only the fact that the sealed keys left the gateway matters here; the sealed
    # payload is for the delivery service and is never opened or stored by fulfillment.
    await _apply(uow, event.order_id, lambda s: s.keys_delivered())


async def delivery_completed(event: DeliveryCompleted, uow: UnitOfWork) -> None:
    await _apply(
        uow,
        event.order_id,
        lambda s: s.delivery_completed(event.key_count, email_sent=event.email_sent),
    )


async def delivery_failed(event: DeliveryFailed, uow: UnitOfWork) -> None:
    await _apply(uow, event.order_id, lambda s: s.delivery_failed(event.code, event.reason))


async def refund_status_changed(event: RefundStatusChanged, uow: UnitOfWork) -> None:
    await _apply(uow, event.order_id, lambda s: s.refund_status_changed(event), wait=False)


async def _apply(
    uow: UnitOfWork, order_id: UUID, change: Callable[[OrderSaga], None], *, wait: bool = True
) -> None:
    """Apply `change` to the order's saga; without one, retry later (`wait`) or skip."""
    repository = SagaRepository(uow)
    saga = await repository.get_for_update(order_id)
    if saga is None and not wait:
        logger.info("no saga for this order: nothing to record", extra={"order_id": str(order_id)})
        return
    if saga is None:
        raise SagaNotStarted(order_id)
    before = replace(saga)
    change(saga)
    # A fact recorded without a transition (Kinguin's "completed" while the reservation
    # is still on its way) must be stored too, or the saga forgets it.
    await store_outcome(uow, saga, save=saga != before)


async def store_outcome(uow: UnitOfWork, saga: OrderSaga, *, save: bool = True) -> None:
    """Store the saga (unless `save` is False), record its transitions, set its timers
    and emit its events, all in the unit of work that changed it (in one statement)."""
    await SagaRepository(uow).store_step(saga, save=save)
