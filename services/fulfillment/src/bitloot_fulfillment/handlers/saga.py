"""Apply each consumed event to its order's saga and emit what the saga decided.

Events about an order may overtake the `payment.finished` that starts its saga (they
travel on other queues); such an event is retried, not rejected, until the saga exists.
A refund's status is the exception: a refund of an order that was never paid in full (a
payment flag's money going back) has no saga to wait for, and payments shows it.
"""

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Generic, Protocol, TypeVar
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
from bitloot_fulfillment.domain.saga import OrderSaga
from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_fulfillment.handlers.ports import FulfillmentWork
from bitloot_runtime.errors import TransientError

logger = logging.getLogger(__name__)


class SagaNotStarted(TransientError):
    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"No saga for order {order_id} yet; its payment.finished may be late.")


class StartSaga:
    """`payment.finished` starts the order's saga, with its first step's transitions,
    timers and events; a second payment event for the same order starts nothing new."""

    def __init__(self, policy: TimerPolicy) -> None:
        self._policy = policy

    async def __call__(self, event: PaymentFinished, uow: FulfillmentWork) -> None:
        await uow.sagas.add(OrderSaga.start(event, self._policy))


class _OfAnOrder(Protocol):
    @property
    def order_id(self) -> UUID: ...


EventT = TypeVar("EventT", bound=_OfAnOrder)


class ApplyToSaga(Generic[EventT]):
    """Apply each consumed event of one kind to its order's saga (`step`); without a
    saga, retry the event later (`wait`) or skip it."""

    def __init__(self, step: Callable[[OrderSaga, EventT], None], *, wait: bool = True) -> None:
        self._step = step
        self._wait = wait

    async def __call__(self, event: EventT, uow: FulfillmentWork) -> None:
        saga = await uow.sagas.get_for_update(event.order_id)
        if saga is None and not self._wait:
            logger.info(
                "no saga for this order: nothing to record", extra={"order_id": str(event.order_id)}
            )
            return
        if saga is None:
            raise SagaNotStarted(event.order_id)
        before = replace(saga)
        self._step(saga, event)
        # A fact recorded without a transition (Kinguin's "completed" while the reservation
        # is still on its way) must be stored too, or the saga forgets it.
        await uow.sagas.store_step(saga, save=saga != before)


reservation_created = ApplyToSaga[ReservationCreated](
    lambda saga, event: saga.reservation_created(
        event.kinguin_order_id,
        event.status,
        is_preorder=event.is_preorder,
        release_date=event.preorder_release_date,
    )
)
reservation_failed = ApplyToSaga[ReservationFailed](
    lambda saga, event: saga.reservation_failed(event.code, event.reason)
)
kinguin_status_changed = ApplyToSaga[KinguinWebhook](
    lambda saga, event: saga.kinguin_status_changed(
        event.kinguin_order_id, event.status, event.updated_at
    )
)
# Only the fact that the sealed keys left the gateway matters here; the sealed payload
# is for the delivery service and is never opened or stored by fulfillment.
keys_delivered = ApplyToSaga[KeysDelivered](lambda saga, _event: saga.keys_delivered())
delivery_completed = ApplyToSaga[DeliveryCompleted](
    lambda saga, event: saga.delivery_completed(event.key_count, email_sent=event.email_sent)
)
delivery_failed = ApplyToSaga[DeliveryFailed](
    lambda saga, event: saga.delivery_failed(event.code, event.reason)
)
refund_status_changed = ApplyToSaga[RefundStatusChanged](
    lambda saga, event: saga.refund_status_changed(event), wait=False
)
