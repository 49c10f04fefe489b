"""Order tokens: JWTs that let a customer see one order, and nothing else; admin
session tokens, signed the same way by the admin service; and refund claim tokens, which
delivery signs into the emails it sends and payments' claim page verifies.

The payments service signs them with an Ed25519 private key (EdDSA); every other service
verifies them with the public key only, so a service that can verify cannot forge. The
key id travels in the header, so a new key pair can be introduced while tokens signed
with the previous one are still accepted.
"""

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import JsonValue

from bitloot_runtime.errors import BitlootError

ISSUER = "bitloot-payments"
ORDER_AUDIENCE = "bitloot:order"
ADMIN_ISSUER = "bitloot-admin"
ADMIN_AUDIENCE = "bitloot:admin"
CLAIM_ISSUER = "bitloot-delivery"
CLAIM_AUDIENCE = "bitloot:refund-claim"
_ALGORITHM = "EdDSA"


class InvalidToken(BitlootError):
    """A token that does not grant access; `code` says why (for logs and the answer)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Signer:
    key_id: str
    private_key: Ed25519PrivateKey
    ttl: timedelta

    def _sign(
        self, issuer: str, audience: str, subject: str, now: datetime | None, **more: JsonValue
    ) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": subject,
            **more,
            "iat": issued,
            "exp": issued + self.ttl,
        }
        return jwt.encode(claims, self.private_key, _ALGORITHM, headers={"kid": self.key_id})


class OrderTokenSigner(_Signer):
    """Issues order tokens (payments only)."""

    def issue(self, order_id: UUID, now: datetime | None = None) -> str:
        return self._sign(ISSUER, ORDER_AUDIENCE, str(order_id), now)


@dataclass(frozen=True)
class OrderTokenVerifier:
    """Checks order tokens against the configured public keys, by key id."""

    public_keys: Mapping[str, Ed25519PublicKey]

    def verify(self, token: str | None, order_id: UUID) -> None:
        """Return if `token` grants access to `order_id`; raise `InvalidToken` otherwise."""
        if not token:
            raise InvalidToken("token_missing", "An order token is required.")
        claims = _decode(token, self.public_keys, ORDER_AUDIENCE, ISSUER, "order token")
        if claims["sub"] != str(order_id):
            raise InvalidToken("token_wrong_order", "The token is for another order.")


class AdminTokenSigner(_Signer):
    """Issues admin session tokens (the admin service only holds the private key)."""

    def issue(self, username: str, now: datetime | None = None, generation: int = 0) -> str:
        """A session of `username`: its own id (``jti``, which a logout revokes) and the
        account's session generation (``gen``, which a password change moves past)."""
        return self._sign(
            ADMIN_ISSUER, ADMIN_AUDIENCE, username, now, jti=str(uuid.uuid4()), gen=generation
        )


@dataclass(frozen=True)
class AdminSession:
    """What a valid admin token says: who, which session, until when, of which generation."""

    username: str
    session_id: UUID
    expires_at: datetime
    generation: int


@dataclass(frozen=True)
class AdminTokenVerifier:
    """Checks admin session tokens with public keys only: a service that verifies them
    (fulfillment's live status) cannot forge an admin session."""

    public_keys: Mapping[str, Ed25519PublicKey]

    def verify(self, token: str | None) -> str:
        """The admin `token` names; raise `InvalidToken` if it grants nothing."""
        return self._claims(token)[0]

    def session(self, token: str | None) -> AdminSession:
        """The whole session `token` carries (the admin service checks its id and
        generation against the account); `InvalidToken` if it grants nothing or names no
        session."""
        username, claims = self._claims(token)
        try:
            session_id = UUID(str(claims["jti"]))
            expires_at = datetime.fromtimestamp(int(str(claims["exp"])), UTC)
            generation = int(str(claims.get("gen", 0)))
        except (KeyError, ValueError):
            raise InvalidToken("token_invalid", "The admin token names no session.") from None
        return AdminSession(username, session_id, expires_at, generation)

    def _claims(self, token: str | None) -> tuple[str, dict[str, JsonValue]]:
        if not token:
            raise InvalidToken("token_missing", "An admin token is required.")
        claims = _decode(token, self.public_keys, ADMIN_AUDIENCE, ADMIN_ISSUER, "admin token")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("token_invalid", "The admin token names no admin.")
        return subject, claims


@dataclass(frozen=True)
class ClaimGrant:
    """What a refund claim token lets its holder do: claim refund `refund_id` of
    `order_id` (and, once expired, only ask for a new link)."""

    refund_id: int
    order_id: UUID


class ClaimTokenSigner(_Signer):
    """Issues refund claim tokens (delivery only, into the emails it sends): whoever
    holds the email may tell payments where to send the refund, until the token expires."""

    def issue(self, refund_id: int, order_id: UUID, now: datetime | None = None) -> str:
        return self._sign(CLAIM_ISSUER, CLAIM_AUDIENCE, str(refund_id), now, oid=str(order_id))


@dataclass(frozen=True)
class ClaimTokenVerifier:
    """Checks refund claim tokens with delivery's public keys only (payments cannot
    forge one, delivery cannot act on one)."""

    public_keys: Mapping[str, Ed25519PublicKey]

    def verify(self, token: str | None, *, allow_expired: bool = False) -> ClaimGrant:
        """The refund `token` grants claiming; `InvalidToken` otherwise. With
        `allow_expired`, an expired but genuine token still names its refund (for asking
        a new link), never for claiming."""
        if not token:
            raise InvalidToken("token_missing", "A claim token is required.")
        try:
            claims = _decode(token, self.public_keys, CLAIM_AUDIENCE, CLAIM_ISSUER, "claim link")
        except InvalidToken as refusal:
            if refusal.code != "token_expired" or not allow_expired:
                raise
            claims = _decode(
                token, self.public_keys, CLAIM_AUDIENCE, CLAIM_ISSUER, "claim link", expiry=False
            )
        try:
            return ClaimGrant(int(str(claims["sub"])), UUID(str(claims["oid"])))
        except (KeyError, ValueError):
            raise InvalidToken("token_invalid", "The claim link names no refund.") from None


def _decode(
    token: str,
    public_keys: Mapping[str, Ed25519PublicKey],
    audience: str,
    issuer: str,
    what: str,
    *,
    expiry: bool = True,
) -> dict[str, JsonValue]:
    try:
        key_id = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise InvalidToken("token_invalid", "The token is not a JWT.") from None
    key = public_keys.get(str(key_id))
    if key is None:
        raise InvalidToken("token_invalid", "The token was signed by an unknown key.")
    try:
        claims: dict[str, JsonValue] = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "sub", "aud", "iss"], "verify_exp": expiry},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token_expired", f"The {what} has expired.") from None
    except jwt.PyJWTError:
        raise InvalidToken("token_invalid", f"The {what} is not valid.") from None
    return claims


def parse_public_keys(setting: str) -> dict[str, Ed25519PublicKey]:
    """``kid:base64[,kid:base64…]`` (raw 32-byte Ed25519 public keys) to keys by id."""
    keys: dict[str, Ed25519PublicKey] = {}
    for item in filter(None, (part.strip() for part in setting.split(","))):
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id:
            raise ValueError("write public keys as kid:base64, separated by commas")
        keys[key_id] = Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded, validate=True))
    if not keys:
        raise ValueError("at least one public key is required")
    return keys


def load_private_key(encoded: str) -> Ed25519PrivateKey:
    """A raw 32-byte Ed25519 private key, base64-encoded (as `generate_key_pair` writes)."""
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded, validate=True))


def generate_key_pair() -> tuple[str, str]:
    """A new (private, public) Ed25519 key pair as base64 of the raw keys, for settings."""
    private_key = Ed25519PrivateKey.generate()
    return (
        base64.b64encode(private_key.private_bytes_raw()).decode(),
        base64.b64encode(private_key.public_key().public_bytes_raw()).decode(),
    )
