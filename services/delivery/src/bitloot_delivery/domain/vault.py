"""Envelope encryption of an order's keys at rest.

Each order's keys are encrypted with AES-256-GCM under a random data key of their own
(random 96-bit nonce, the order id as associated data). The data key is stored only
wrapped: AES-256-GCM under a key-encryption key (KEK) from configuration, with the
order id and the KEK's id as associated data. Rotating KEKs therefore re-wraps 32-byte
data keys (`rewrap`) and never touches the ciphertext in the object store; old KEKs
stay configured, for reading, until every data key has been re-wrapped.

Anything off — a flipped bit, another order's id, a KEK that is not the one named —
raises `VaultError`; nothing is ever returned half-decrypted.
"""

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_KEY_BYTES = 32


class VaultError(Exception):
    """Keys that cannot be decrypted or keys that cannot be configured."""


@dataclass(frozen=True)
class KeyEncryptionKeys:
    """The configured KEKs by id; new data keys are wrapped with `current_id`'s."""

    current_id: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise VaultError(
                f"Current KEK id {self.current_id!r} is not among the configured KEKs."
            )
        for key_id, key in self.keys.items():
            if len(key) != _KEY_BYTES:
                raise VaultError(
                    f"KEK {key_id!r} has {len(key)} bytes; AES-256 needs {_KEY_BYTES}."
                )

    @classmethod
    def parse(cls, current_id: str, setting: str) -> "KeyEncryptionKeys":
        """From ``id:base64[,id:base64…]``, as the setting holds them."""
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in setting.split(","))):
            key_id, sep, encoded = item.partition(":")
            if not sep or not key_id:
                raise VaultError("KEKs must be written as id:base64, separated by commas.")
            try:
                keys[key_id] = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise VaultError(f"KEK {key_id!r} is not valid base64.") from None
        return cls(current_id, keys)

    def get(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise VaultError(f"No KEK with id {key_id!r} is configured.") from None


@dataclass(frozen=True)
class EncryptedKeys:
    """What is stored: the ciphertext (object store) and its wrapped data key (database)."""

    kek_id: str
    wrapped_data_key: bytes
    ciphertext: bytes


def encrypt(plaintext: bytes, order_id: UUID, keks: KeyEncryptionKeys) -> EncryptedKeys:
    data_key = AESGCM.generate_key(bit_length=256)
    ciphertext = _seal(data_key, plaintext, _content_aad(order_id))
    return EncryptedKeys(
        keks.current_id, _wrap(data_key, order_id, keks.current_id, keks), ciphertext
    )


def decrypt(stored: EncryptedKeys, order_id: UUID, keks: KeyEncryptionKeys) -> bytes:
    data_key = _unwrap(stored, order_id, keks)
    return _open(data_key, stored.ciphertext, _content_aad(order_id), "keys")


def rewrap(stored: EncryptedKeys, order_id: UUID, keks: KeyEncryptionKeys) -> EncryptedKeys:
    """The same ciphertext with its data key wrapped by the current KEK."""
    if stored.kek_id == keks.current_id:
        return stored
    kek_id, wrapped = rewrap_data_key(stored.kek_id, stored.wrapped_data_key, order_id, keks)
    return EncryptedKeys(kek_id, wrapped, stored.ciphertext)


def rewrap_data_key(
    kek_id: str, wrapped_data_key: bytes, order_id: UUID, keks: KeyEncryptionKeys
) -> tuple[str, bytes]:
    """The data key re-wrapped by the current KEK, as (kek id, wrapped); unchanged if it
    already is. Only the 32-byte data key is touched, never the ciphertext it opens."""
    if kek_id == keks.current_id:
        return kek_id, wrapped_data_key
    data_key = _open(keks.get(kek_id), wrapped_data_key, _wrap_aad(order_id, kek_id), "data key")
    return keks.current_id, _wrap(data_key, order_id, keks.current_id, keks)


def _content_aad(order_id: UUID) -> bytes:
    return b"bitloot/vault/keys/v1/" + order_id.bytes


def _wrap_aad(order_id: UUID, kek_id: str) -> bytes:
    return b"bitloot/vault/dek/v1/" + order_id.bytes + kek_id.encode()


def _wrap(data_key: bytes, order_id: UUID, kek_id: str, keks: KeyEncryptionKeys) -> bytes:
    return _seal(keks.get(kek_id), data_key, _wrap_aad(order_id, kek_id))


def _unwrap(stored: EncryptedKeys, order_id: UUID, keks: KeyEncryptionKeys) -> bytes:
    kek = keks.get(stored.kek_id)
    return _open(kek, stored.wrapped_data_key, _wrap_aad(order_id, stored.kek_id), "data key")


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes, what: str) -> bytes:
    nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except (InvalidTag, ValueError):
        raise VaultError(
            f"The {what} failed authentication: tampered, or another order's."
        ) from None
