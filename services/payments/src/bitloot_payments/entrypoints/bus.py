"""Which handler consumes which topic."""

from bitloot_contracts import topics
from bitloot_contracts.events import (
    DeliveryCompleted,
    KeysRevoked,
    OrderFailed,
    OrderStatusChanged,
    ProductAvailabilityChanged,
)
from bitloot_payments.handlers.availability import RecordAvailability
from bitloot_payments.handlers.fulfilment import RecordFulfilment
from bitloot_payments.handlers.refunds import RecordKeyEmail, RefundFailedOrder, RefundRevokedKeys
from bitloot_runtime.consumer import Route
from bitloot_runtime.service import ServiceRuntime


def subscribe(runtime: ServiceRuntime) -> None:
    """Register every payments handler on its queue."""
    runtime.subscribe(Route(topics.ORDER_STATUS_CHANGED, OrderStatusChanged, RecordFulfilment()))
    runtime.subscribe(
        Route(
            topics.PRODUCT_AVAILABILITY_CHANGED,
            ProductAvailabilityChanged,
            RecordAvailability(),
        )
    )
    runtime.subscribe(Route(topics.ORDER_FAILED, OrderFailed, RefundFailedOrder()))
    runtime.subscribe(Route(topics.KEYS_REVOKED, KeysRevoked, RefundRevokedKeys()))
    runtime.subscribe(Route(topics.DELIVERY_COMPLETED, DeliveryCompleted, RecordKeyEmail()))
