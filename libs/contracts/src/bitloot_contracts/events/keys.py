"""Fetching the bought keys from Kinguin and handing them, sealed, to delivery."""

from typing import ClassVar, Literal

from pydantic import Field

from bitloot_contracts import topics
from bitloot_contracts.events.base import Contract, Event
from bitloot_contracts.events.fields import Base64, Count, Email, Identifier, Text


class SealedKeys(Contract):
    """The order's keys sealed with HPKE (RFC 9180) to the delivery service's public key.

    Only the delivery service can open it; a plaintext key never travels on the bus.
    """

    suite: Text = Field(
        description="HPKE suite, e.g. DHKEM(X25519)-HKDF-SHA256/HKDF-SHA256/AES-256-GCM."
    )
    recipient_key_id: Identifier = Field(description="Which delivery key pair can open it.")
    enc: Base64 = Field(description="HPKE encapsulated key.")
    ciphertext: Base64


class KeysRequested(Event):
    """Fulfillment asks the gateway to fetch the keys of a completed Kinguin order."""

    topic: ClassVar[str] = topics.KEYS_REQUESTED
    schema_version: Literal[1, 2] = 2

    kinguin_order_id: Identifier
    customer_email: Email


class KeysDelivered(Event):
    """Every key of the order, sealed for delivery: by the gateway from Kinguin, or by an
    admin who entered them by hand (fulfillment hands those on)."""

    topic: ClassVar[str] = topics.KEYS_DELIVERED
    schema_version: Literal[1, 2] = 2

    kinguin_order_id: Identifier
    customer_email: Email
    key_count: Count
    sealed: SealedKeys
