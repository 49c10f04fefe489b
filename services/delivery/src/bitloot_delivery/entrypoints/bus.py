"""Which handler consumes which topic."""

from bitloot_contracts import topics
from bitloot_contracts.events import (
    KeysDelivered,
    OrderDelayed,
    PaymentFinished,
    RefundClaimLinkRequested,
    RefundStatusChanged,
)
from bitloot_delivery.handlers.delay_notice import QueueDelayNotice
from bitloot_delivery.handlers.order_summary import RecordOrderSummary
from bitloot_delivery.handlers.refund_notices import QueueClaimLink, QueueRefundNotice
from bitloot_delivery.handlers.store_keys import StoreKeys
from bitloot_runtime.consumer import Route
from bitloot_runtime.service import ServiceRuntime


def subscribe(runtime: ServiceRuntime, store_keys: StoreKeys) -> None:
    """Register every delivery handler on its queue."""
    runtime.subscribe(Route(topics.PAYMENT_FINISHED, PaymentFinished, RecordOrderSummary()))
    runtime.subscribe(Route(topics.KEYS_DELIVERED, KeysDelivered, store_keys))
    runtime.subscribe(Route(topics.ORDER_DELAYED, OrderDelayed, QueueDelayNotice()))
    runtime.subscribe(Route(topics.REFUND_STATUS_CHANGED, RefundStatusChanged, QueueRefundNotice()))
    runtime.subscribe(
        Route(topics.REFUND_CLAIM_LINK_REQUESTED, RefundClaimLinkRequested, QueueClaimLink())
    )
