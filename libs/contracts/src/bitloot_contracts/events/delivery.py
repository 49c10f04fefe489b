"""The delivery service's outcome for an order's keys."""

from typing import ClassVar, Literal

from pydantic import Field

from bitloot_contracts import topics
from bitloot_contracts.events.base import Event
from bitloot_contracts.events.fields import Code, Count, Text


class DeliveryCompleted(Event):
    """The keys are stored encrypted and the customer has (or will get) a reveal link."""

    topic: ClassVar[str] = topics.DELIVERY_COMPLETED
    schema_version: Literal[1] = 1

    key_count: Count
    email_sent: bool


class DeliveryFailed(Event):
    """The keys could not be stored or the link not issued; an admin must act."""

    topic: ClassVar[str] = topics.DELIVERY_FAILED
    schema_version: Literal[1] = 1

    code: Code
    reason: Text


class KeysRevoked(Event):
    """An admin refunds an order whose keys were never revealed: delivery made them
    unrevealable (the reveal page now answers that the order was refunded), and payments
    records the refund due."""

    topic: ClassVar[str] = topics.KEYS_REVOKED
    schema_version: Literal[1] = 1

    key_count: Count
    revoked_by: Text = Field(description="The admin who decided the refund.")
    note: Text | None = None
