import base64
from uuid import uuid4

import pytest
from pydantic import ValidationError

from bitloot_contracts.events import KeysDelivered, KeysRequested, SealedKeys


def _sealed(**changes: str) -> SealedKeys:
    fields = {
        "suite": "DHKEM(X25519)-HKDF-SHA256/HKDF-SHA256/AES-256-GCM",
        "recipient_key_id": "delivery-1",
        "enc": base64.b64encode(bytes(32)).decode(),
        "ciphertext": base64.b64encode(b"ciphertext").decode(),
    }
    return SealedKeys.model_validate({**fields, **changes})


def test_keys_delivered_carries_sealed_keys_and_nothing_in_the_clear() -> None:
    assert set(KeysDelivered.model_fields) == {
        "event_id",
        "order_id",
        "occurred_at",
        "schema_version",
        "kinguin_order_id",
        "customer_email",
        "key_count",
        "sealed",
    }
    assert set(SealedKeys.model_fields) == {"suite", "recipient_key_id", "enc", "ciphertext"}


@pytest.mark.parametrize("field", ["enc", "ciphertext"])
def test_sealed_keys_must_be_base64(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        _sealed(**{field: "XXXX-not-base64"})


def test_keys_delivered_needs_at_least_one_key() -> None:
    with pytest.raises(ValidationError, match="key_count"):
        KeysDelivered(
            order_id=uuid4(),
            kinguin_order_id="K1",
            customer_email="buyer@example.com",
            key_count=0,
            sealed=_sealed(),
        )


def test_keys_requested_normalises_the_email() -> None:
    event = KeysRequested(order_id=uuid4(), kinguin_order_id="K1", customer_email="B@Example.com")
    assert event.customer_email == "b@example.com"
