"""Keys in transit: sealed with HPKE (RFC 9180) to the delivery service's public key.

The gateway seals what Kinguin returned; only delivery, holding the private key, can open
it. The order id is bound into the HPKE `info`, so a sealed payload copied onto another
order's event fails to open instead of delivering one customer's keys to another.
Key pairs carry an id so that delivery can rotate its key pair: it keeps the old private
key for what is still in flight, and the gateway seals to the new public key.
"""

import base64
from collections.abc import Mapping
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from bitloot_contracts.events import SealedKeys
from bitloot_runtime.errors import PermanentError

SUITE_NAME = "DHKEM(X25519)-HKDF-SHA256/HKDF-SHA256/AES-256-GCM"
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_ENC_LENGTH = hpke.KEM.X25519.enc_length()


class CannotUnseal(PermanentError):
    """A sealed payload that will never open: park it, never retry it."""

    def __init__(self, reason: str) -> None:
        super().__init__("cannot_unseal", reason)


def _info(order_id: UUID) -> bytes:
    return b"bitloot/keys/v1/" + order_id.bytes


def seal(plaintext: bytes, recipient: X25519PublicKey, key_id: str, order_id: UUID) -> SealedKeys:
    """Seal `plaintext` so that only the holder of `key_id`'s private key can read it."""
    sealed = _SUITE.encrypt(plaintext, recipient, info=_info(order_id))
    return SealedKeys(
        suite=SUITE_NAME,
        recipient_key_id=key_id,
        enc=base64.b64encode(sealed[:_ENC_LENGTH]).decode(),
        ciphertext=base64.b64encode(sealed[_ENC_LENGTH:]).decode(),
    )


def unseal(
    sealed: SealedKeys, private_keys: Mapping[str, X25519PrivateKey], order_id: UUID
) -> bytes:
    """Open `sealed` with the private key it names; `CannotUnseal` if anything is off."""
    if sealed.suite != SUITE_NAME:
        raise CannotUnseal(f"Suite {sealed.suite!r} is not {SUITE_NAME!r}.")
    private_key = private_keys.get(sealed.recipient_key_id)
    if private_key is None:
        raise CannotUnseal(f"No private key with id {sealed.recipient_key_id!r}.")
    payload = base64.b64decode(sealed.enc) + base64.b64decode(sealed.ciphertext)
    try:
        return _SUITE.decrypt(payload, private_key, info=_info(order_id))
    except (InvalidTag, ValueError) as exc:
        raise CannotUnseal(f"Sealed keys do not open for order {order_id}.") from exc


def generate_key_pair() -> tuple[str, str]:
    """A new (private, public) key pair as base64 of the raw 32-byte keys, for settings."""
    private_key = X25519PrivateKey.generate()
    return (
        base64.b64encode(private_key.private_bytes_raw()).decode(),
        base64.b64encode(private_key.public_key().public_bytes_raw()).decode(),
    )


def load_private_key(encoded: str) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(base64.b64decode(encoded, validate=True))


def load_public_key(encoded: str) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(base64.b64decode(encoded, validate=True))
