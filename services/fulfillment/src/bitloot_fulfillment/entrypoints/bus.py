"""Which handler consumes which topic."""

from bitloot_contracts import topics
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
from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_fulfillment.handlers import saga
from bitloot_runtime.consumer import Route
from bitloot_runtime.service import ServiceRuntime


def subscribe(runtime: ServiceRuntime, policy: TimerPolicy) -> None:
    """Register every fulfillment handler on its queue."""
    runtime.subscribe(Route(topics.PAYMENT_FINISHED, PaymentFinished, saga.StartSaga(policy)))
    runtime.subscribe(
        Route(topics.RESERVATION_CREATED, ReservationCreated, saga.reservation_created)
    )
    runtime.subscribe(Route(topics.RESERVATION_FAILED, ReservationFailed, saga.reservation_failed))
    runtime.subscribe(Route(topics.KINGUIN_WEBHOOK, KinguinWebhook, saga.kinguin_status_changed))
    runtime.subscribe(Route(topics.KEYS_DELIVERED, KeysDelivered, saga.keys_delivered))
    runtime.subscribe(Route(topics.DELIVERY_COMPLETED, DeliveryCompleted, saga.delivery_completed))
    runtime.subscribe(Route(topics.DELIVERY_FAILED, DeliveryFailed, saga.delivery_failed))
    runtime.subscribe(
        Route(topics.REFUND_STATUS_CHANGED, RefundStatusChanged, saga.refund_status_changed)
    )
