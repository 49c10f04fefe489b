"""Names on the bus: the exchange, one topic per event type, the services, who sends what.

A topic is also the routing key. Every consumer reads a topic from its own durable queue
named `<service>.<topic>` (see `queue_name`), so the tables below are the whole topology.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

EXCHANGE: Final = "bitloot.events"

PAYMENT_STATUS_CHANGED: Final = "payment.status_changed"
PAYMENT_FINISHED: Final = "payment.finished"
RESERVATION_REQUESTED: Final = "reservation.requested"
RESERVATION_POLL: Final = "reservation.poll"
RESERVATION_CREATED: Final = "reservation.created"
RESERVATION_FAILED: Final = "reservation.failed"
KINGUIN_WEBHOOK: Final = "kinguin.webhook"
KEYS_REQUESTED: Final = "keys.requested"
KEYS_DELIVERED: Final = "keys.delivered"
DELIVERY_COMPLETED: Final = "delivery.completed"
DELIVERY_FAILED: Final = "delivery.failed"
ORDER_STATUS_CHANGED: Final = "order.status_changed"
ORDER_FULFILLED: Final = "order.fulfilled"
ORDER_FAILED: Final = "order.failed"
ORDER_DELAYED: Final = "order.delayed"
CATALOG_PRODUCT_LISTED: Final = "catalog.product_listed"
PRODUCT_AVAILABILITY_CHANGED: Final = "product.availability_changed"
KEYS_REVOKED: Final = "keys.revoked"
REFUND_STATUS_CHANGED: Final = "refund.status_changed"
REFUND_CLAIM_LINK_REQUESTED: Final = "refund.claim_link_requested"

TOPICS: Final[tuple[str, ...]] = (
    PAYMENT_STATUS_CHANGED,
    PAYMENT_FINISHED,
    RESERVATION_REQUESTED,
    RESERVATION_POLL,
    RESERVATION_CREATED,
    RESERVATION_FAILED,
    KINGUIN_WEBHOOK,
    KEYS_REQUESTED,
    KEYS_DELIVERED,
    DELIVERY_COMPLETED,
    DELIVERY_FAILED,
    ORDER_STATUS_CHANGED,
    ORDER_FULFILLED,
    ORDER_FAILED,
    ORDER_DELAYED,
    CATALOG_PRODUCT_LISTED,
    PRODUCT_AVAILABILITY_CHANGED,
    KEYS_REVOKED,
    REFUND_STATUS_CHANGED,
    REFUND_CLAIM_LINK_REQUESTED,
)

PAYMENTS: Final = "payments"
KINGUIN_GATEWAY: Final = "kinguin-gateway"
FULFILLMENT: Final = "fulfillment"
DELIVERY: Final = "delivery"
ADMIN: Final = "admin"

SERVICES: Final[tuple[str, ...]] = (PAYMENTS, KINGUIN_GATEWAY, FULFILLMENT, DELIVERY, ADMIN)

# Read-only views: the runtime declares queues from these tables, so a service must not be
# able to change another service's topology by mutating a shared module attribute.
SUBSCRIPTIONS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        # How fulfillment is going, and what Kinguin has of the catalog's products; a
        # failed order or revoked keys make a refund due; whether the key email went out.
        PAYMENTS: (
            ORDER_STATUS_CHANGED,
            PRODUCT_AVAILABILITY_CHANGED,
            ORDER_FAILED,
            KEYS_REVOKED,
            DELIVERY_COMPLETED,
        ),
        KINGUIN_GATEWAY: (
            RESERVATION_REQUESTED,
            RESERVATION_POLL,
            KEYS_REQUESTED,
            # Which Kinguin products to watch for stock and price.
            CATALOG_PRODUCT_LISTED,
            # An admin refunded an order whose keys were never revealed: return them to Kinguin.
            KEYS_REVOKED,
        ),
        FULFILLMENT: (
            PAYMENT_FINISHED,
            RESERVATION_CREATED,
            RESERVATION_FAILED,
            KINGUIN_WEBHOOK,
            # Only that the sealed keys left the gateway (the saga's `delivering`).
            KEYS_DELIVERED,
            DELIVERY_COMPLETED,
            DELIVERY_FAILED,
            # For the customer status (live page) and to revive no refunded order.
            REFUND_STATUS_CHANGED,
        ),
        # The customer is told by email when Kinguin is late with a bought order, and
        # when money goes back to them (with a link to claim it, anew on request). From
        # payment.finished it keeps what the order is, in words (products, amount), for
        # the key email and the reveal page.
        DELIVERY: (
            PAYMENT_FINISHED,
            KEYS_DELIVERED,
            ORDER_DELAYED,
            REFUND_STATUS_CHANGED,
            REFUND_CLAIM_LINK_REQUESTED,
        ),
        # The admin reads an order's timeline from the services (payments' IPNs,
        # fulfillment's saga transitions, delivery's key events); it projects only a
        # refund's story, which no service keeps whole (each status change, each new claim
        # link asked for) and which happens to few orders. It also gives the two topics
        # no service consumes a queue, which it drains unread, so that a publish (always
        # `mandatory`) is routable.
        ADMIN: (
            PAYMENT_STATUS_CHANGED,
            ORDER_FULFILLED,
            KEYS_REVOKED,
            REFUND_STATUS_CHANGED,
            REFUND_CLAIM_LINK_REQUESTED,
        ),
    }
)
"""The topics each service consumes, one queue per (service, topic)."""

PUBLISHERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        PAYMENTS: (
            PAYMENT_STATUS_CHANGED,
            PAYMENT_FINISHED,
            CATALOG_PRODUCT_LISTED,
            # Money owed back, and where each refund stands (claimed, approved, sent…).
            REFUND_STATUS_CHANGED,
            # A customer whose claim link expired asks delivery (which owns email) for another.
            REFUND_CLAIM_LINK_REQUESTED,
        ),
        KINGUIN_GATEWAY: (
            RESERVATION_CREATED,
            RESERVATION_FAILED,
            KINGUIN_WEBHOOK,
            KEYS_DELIVERED,
            PRODUCT_AVAILABILITY_CHANGED,
        ),
        FULFILLMENT: (
            RESERVATION_REQUESTED,
            RESERVATION_POLL,
            KEYS_REQUESTED,
            ORDER_STATUS_CHANGED,
            ORDER_FULFILLED,
            ORDER_FAILED,
            ORDER_DELAYED,
            # Keys an admin entered by hand, sealed to delivery by the admin service.
            KEYS_DELIVERED,
        ),
        # Revoked: an admin refunds an order whose keys were never revealed.
        DELIVERY: (DELIVERY_COMPLETED, DELIVERY_FAILED, KEYS_REVOKED),
        ADMIN: (),
    }
)
"""The topics each service publishes (docs/architecture.md §1)."""


def queue_name(service: str, topic: str) -> str:
    """The durable queue from which `service` consumes `topic`."""
    return f"{service}.{topic}"
