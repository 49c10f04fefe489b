"""Topic → model, and parsing a message body received from the bus."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from bitloot_contracts.events.base import Event
from bitloot_contracts.events.catalog import ProductAvailabilityChanged, ProductListed
from bitloot_contracts.events.delivery import DeliveryCompleted, DeliveryFailed, KeysRevoked
from bitloot_contracts.events.keys import KeysDelivered, KeysRequested
from bitloot_contracts.events.order import (
    OrderDelayed,
    OrderFailed,
    OrderFulfilled,
    OrderStatusChanged,
)
from bitloot_contracts.events.payment import PaymentFinished, PaymentStatusChanged
from bitloot_contracts.events.refund import RefundClaimLinkRequested, RefundStatusChanged
from bitloot_contracts.events.reservation import (
    KinguinWebhook,
    ReservationCreated,
    ReservationFailed,
    ReservationPoll,
    ReservationRequested,
)


class UnknownTopic(LookupError):
    """A topic no BitLoot event is published on."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        super().__init__(
            f"Topic {topic!r} is not a BitLoot event. Known topics: {', '.join(EVENT_TYPES)}."
        )


def _by_topic(*models: type[Event]) -> Mapping[str, type[Event]]:
    registry: dict[str, type[Event]] = {}
    for model in models:
        if model.topic in registry:
            raise TypeError(f"Topic {model.topic!r} has two models: {registry[model.topic]!r}")
        registry[model.topic] = model
    return MappingProxyType(registry)


EVENT_TYPES: Final = _by_topic(
    PaymentStatusChanged,
    PaymentFinished,
    ReservationRequested,
    ReservationPoll,
    ReservationCreated,
    ReservationFailed,
    KinguinWebhook,
    KeysRequested,
    KeysDelivered,
    DeliveryCompleted,
    DeliveryFailed,
    OrderStatusChanged,
    OrderFulfilled,
    OrderFailed,
    OrderDelayed,
    ProductListed,
    ProductAvailabilityChanged,
    KeysRevoked,
    RefundStatusChanged,
    RefundClaimLinkRequested,
)
"""The current model of every topic."""


def parse_event(topic: str, body: bytes) -> Event:
    """Validate a message body received on `topic` and return its event.

    Raises `UnknownTopic` for a topic without a model, and pydantic's `ValidationError` for
    a body that is not UTF-8 JSON of that model at its current schema version (unknown
    fields, a missing envelope field or another schema_version included).
    """
    try:
        model = EVENT_TYPES[topic]
    except KeyError:
        raise UnknownTopic(topic) from None
    return model.model_validate_json(body)
