import base64
from uuid import uuid4

import pytest

from bitloot_contracts.events import SealedKeys
from bitloot_runtime.errors import PermanentError
from bitloot_runtime.sealing import (
    CannotUnseal,
    generate_key_pair,
    load_private_key,
    load_public_key,
    seal,
    unseal,
)

KEY = b"ABCDE-12345-FGHIJ"


def pair() -> tuple[str, str]:
    return generate_key_pair()


def test_sealed_keys_open_with_the_named_private_key_for_the_same_order() -> None:
    private, public = pair()
    order_id = uuid4()
    sealed = seal(KEY, load_public_key(public), "delivery-2026-11", order_id)
    assert sealed.recipient_key_id == "delivery-2026-11"
    assert unseal(sealed, {"delivery-2026-11": load_private_key(private)}, order_id) == KEY


def test_the_plaintext_appears_nowhere_in_the_sealed_event() -> None:
    _, public = pair()
    sealed = seal(KEY, load_public_key(public), "k1", uuid4())
    text = sealed.model_dump_json()
    assert KEY.decode() not in text
    assert KEY not in base64.b64decode(sealed.ciphertext)


def test_keys_sealed_for_one_order_do_not_open_for_another() -> None:
    private, public = pair()
    sealed = seal(KEY, load_public_key(public), "k1", uuid4())
    with pytest.raises(CannotUnseal, match="do not open"):
        unseal(sealed, {"k1": load_private_key(private)}, uuid4())


@pytest.mark.parametrize("field", ["enc", "ciphertext"])
def test_a_flipped_bit_fails_loudly(field: str) -> None:
    private, public = pair()
    order_id = uuid4()
    sealed = seal(KEY, load_public_key(public), "k1", order_id)
    raw = bytearray(base64.b64decode(getattr(sealed, field)))
    raw[len(raw) // 2] ^= 0x01
    tampered = sealed.model_copy(update={field: base64.b64encode(bytes(raw)).decode()})
    with pytest.raises(CannotUnseal):
        unseal(tampered, {"k1": load_private_key(private)}, order_id)


def test_another_private_key_cannot_open_it() -> None:
    _, public = pair()
    other_private, _ = pair()
    order_id = uuid4()
    sealed = seal(KEY, load_public_key(public), "k1", order_id)
    with pytest.raises(CannotUnseal):
        unseal(sealed, {"k1": load_private_key(other_private)}, order_id)


def test_unknown_key_id_or_suite_is_refused_and_is_permanent() -> None:
    private, public = pair()
    order_id = uuid4()
    sealed = seal(KEY, load_public_key(public), "k1", order_id)
    keys = {"k2": load_private_key(private)}
    with pytest.raises(CannotUnseal, match="No private key with id 'k1'") as unknown:
        unseal(sealed, keys, order_id)
    assert isinstance(unknown.value, PermanentError)  # the consumer parks it, never retries
    other_suite = SealedKeys(**{**sealed.model_dump(), "suite": "DHKEM(P-256)/x/y"})
    with pytest.raises(CannotUnseal, match="Suite"):
        unseal(other_suite, {"k1": load_private_key(private)}, order_id)


def test_during_rotation_both_the_old_and_the_new_key_pair_open_their_payloads() -> None:
    old_private, old_public = pair()
    new_private, new_public = pair()
    order_id = uuid4()
    in_flight = seal(KEY, load_public_key(old_public), "old", order_id)
    fresh = seal(KEY, load_public_key(new_public), "new", order_id)
    keys = {"old": load_private_key(old_private), "new": load_private_key(new_private)}
    assert unseal(in_flight, keys, order_id) == unseal(fresh, keys, order_id) == KEY
