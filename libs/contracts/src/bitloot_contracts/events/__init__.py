"""The event models: one per topic, the envelope they share, and the topic registry."""

from bitloot_contracts.events.base import ENVELOPE_FIELDS, Contract, Event, schema_version_of
from bitloot_contracts.events.catalog import ProductAvailabilityChanged, ProductListed
from bitloot_contracts.events.delivery import DeliveryCompleted, DeliveryFailed, KeysRevoked
from bitloot_contracts.events.keys import KeysDelivered, KeysRequested, SealedKeys
from bitloot_contracts.events.order import (
    OrderDelayed,
    OrderFailed,
    OrderFulfilled,
    OrderState,
    OrderStatusChanged,
)
from bitloot_contracts.events.payment import (
    OrderLine,
    PaymentFinished,
    PaymentStatus,
    PaymentStatusChanged,
)
from bitloot_contracts.events.refund import (
    RefundClaimLinkRequested,
    RefundStatus,
    RefundStatusChanged,
)
from bitloot_contracts.events.registry import EVENT_TYPES, UnknownTopic, parse_event
from bitloot_contracts.events.reservation import (
    KinguinOrderStatus,
    KinguinWebhook,
    ReservationCreated,
    ReservationFailed,
    ReservationLine,
    ReservationPoll,
    ReservationRequested,
)

__all__ = [
    "ENVELOPE_FIELDS",
    "EVENT_TYPES",
    "Contract",
    "DeliveryCompleted",
    "DeliveryFailed",
    "Event",
    "KeysDelivered",
    "KeysRequested",
    "KeysRevoked",
    "KinguinOrderStatus",
    "KinguinWebhook",
    "OrderDelayed",
    "OrderFailed",
    "OrderFulfilled",
    "OrderLine",
    "OrderState",
    "OrderStatusChanged",
    "PaymentFinished",
    "PaymentStatus",
    "PaymentStatusChanged",
    "ProductAvailabilityChanged",
    "ProductListed",
    "RefundClaimLinkRequested",
    "RefundStatus",
    "RefundStatusChanged",
    "ReservationCreated",
    "ReservationFailed",
    "ReservationLine",
    "ReservationPoll",
    "ReservationRequested",
    "SealedKeys",
    "UnknownTopic",
    "parse_event",
    "schema_version_of",
]
