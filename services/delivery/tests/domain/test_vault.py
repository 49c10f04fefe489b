import base64
import os
from uuid import uuid4

import pytest

from bitloot_delivery.domain.vault import (
    EncryptedKeys,
    KeyEncryptionKeys,
    VaultError,
    decrypt,
    encrypt,
    rewrap,
)

KEYS = b'["AAAAA-BBBBB-CCCCC"]'


def keks(current: str = "k1", *ids: str) -> KeyEncryptionKeys:
    return KeyEncryptionKeys(current, {key_id: os.urandom(32) for key_id in {current, *ids}})


def test_keys_round_trip_and_the_ciphertext_holds_no_plaintext() -> None:
    order_id, configured = uuid4(), keks()
    stored = encrypt(KEYS, order_id, configured)
    assert KEYS not in stored.ciphertext
    assert stored.kek_id == "k1"
    assert decrypt(stored, order_id, configured) == KEYS


def test_each_order_gets_its_own_data_key_and_nonce() -> None:
    configured = keks()
    first, second = encrypt(KEYS, uuid4(), configured), encrypt(KEYS, uuid4(), configured)
    assert first.ciphertext != second.ciphertext
    assert first.wrapped_data_key != second.wrapped_data_key


@pytest.mark.parametrize("field", ["ciphertext", "wrapped_data_key"])
@pytest.mark.parametrize("position", [0, 20, -1])
def test_any_flipped_bit_fails_loudly(field: str, position: int) -> None:
    order_id, configured = uuid4(), keks()
    stored = encrypt(KEYS, order_id, configured)
    raw = bytearray(getattr(stored, field))
    raw[position] ^= 0x80
    tampered = EncryptedKeys(**{**stored.__dict__, field: bytes(raw)})
    with pytest.raises(VaultError, match="failed authentication"):
        decrypt(tampered, order_id, configured)


def test_another_orders_id_does_not_decrypt() -> None:
    configured = keks()
    stored = encrypt(KEYS, uuid4(), configured)
    with pytest.raises(VaultError, match="another order"):
        decrypt(stored, uuid4(), configured)


def test_a_wrong_kek_under_the_same_id_does_not_decrypt() -> None:
    order_id = uuid4()
    stored = encrypt(KEYS, order_id, keks())
    with pytest.raises(VaultError):
        decrypt(stored, order_id, keks())


def test_rewrap_moves_the_data_key_to_the_current_kek_and_keeps_the_ciphertext() -> None:
    order_id = uuid4()
    old = keks("k1")
    stored = encrypt(KEYS, order_id, old)
    rotated = KeyEncryptionKeys("k2", {**old.keys, "k2": os.urandom(32)})
    moved = rewrap(stored, order_id, rotated)
    assert moved.kek_id == "k2"
    assert moved.ciphertext == stored.ciphertext
    # Once re-wrapped, the old KEK can be removed from the configuration.
    assert decrypt(moved, order_id, KeyEncryptionKeys("k2", {"k2": rotated.keys["k2"]})) == KEYS
    assert rewrap(moved, order_id, rotated) is moved


def test_a_data_key_wrapped_by_an_unconfigured_kek_is_reported_by_id() -> None:
    order_id = uuid4()
    stored = encrypt(KEYS, order_id, keks("gone"))
    with pytest.raises(VaultError, match="No KEK with id 'gone'"):
        decrypt(stored, order_id, keks("k1"))


def test_keks_are_parsed_from_their_setting() -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    setting = f"k1:{base64.b64encode(k1).decode()}, k2:{base64.b64encode(k2).decode()}"
    parsed = KeyEncryptionKeys.parse("k2", setting)
    assert parsed.keys == {"k1": k1, "k2": k2}
    assert parsed.current_id == "k2"


@pytest.mark.parametrize(
    ("current", "setting", "message"),
    [
        ("k9", "k1:" + base64.b64encode(os.urandom(32)).decode(), "Current KEK id 'k9'"),
        ("k1", "k1:" + base64.b64encode(os.urandom(16)).decode(), "has 16 bytes"),
        ("k1", "k1:not base64!", "not valid base64"),
        ("k1", "justakey", "id:base64"),
    ],
)
def test_bad_kek_settings_are_refused_with_a_clear_message(
    current: str, setting: str, message: str
) -> None:
    with pytest.raises(VaultError, match=message):
        KeyEncryptionKeys.parse(current, setting)
