"""Which handler consumes which topic: the notification topics feed the projection."""

from bitloot_admin.handlers import projection
from bitloot_contracts import topics
from bitloot_contracts.events import (
    KeysRevoked,
    OrderFailed,
    OrderFulfilled,
    OrderStatusChanged,
    PaymentStatusChanged,
    RefundClaimLinkRequested,
    RefundStatusChanged,
)
from bitloot_runtime.consumer import Route
from bitloot_runtime.service import ServiceRuntime


def subscribe(runtime: ServiceRuntime) -> None:
    """Register every admin handler on its queue."""
    runtime.subscribe(
        Route(
            topics.PAYMENT_STATUS_CHANGED, PaymentStatusChanged, projection.payment_status_changed
        )
    )
    runtime.subscribe(
        Route(topics.ORDER_STATUS_CHANGED, OrderStatusChanged, projection.order_status_changed)
    )
    runtime.subscribe(Route(topics.ORDER_FULFILLED, OrderFulfilled, projection.order_fulfilled))
    runtime.subscribe(Route(topics.ORDER_FAILED, OrderFailed, projection.order_failed))
    runtime.subscribe(Route(topics.KEYS_REVOKED, KeysRevoked, projection.keys_revoked))
    runtime.subscribe(
        Route(topics.REFUND_STATUS_CHANGED, RefundStatusChanged, projection.refund_status_changed)
    )
    runtime.subscribe(
        Route(
            topics.REFUND_CLAIM_LINK_REQUESTED,
            RefundClaimLinkRequested,
            projection.refund_claim_link_requested,
        )
    )
