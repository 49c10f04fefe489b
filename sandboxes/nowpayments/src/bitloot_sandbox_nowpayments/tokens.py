"""The JWTs ``POST /v1/auth`` issues: HS256, ``{"id", "iat", "exp"}`` like NOWPayments'.

The documented example token decodes to ``{"id":"5826259115","iat":1605288384,
"exp":1605288684}``: HS256, the account id, a lifetime of 300 s ("JWT tokens expire in 5
minutes"). The signing key is random per sandbox, so a restarted sandbox refuses the
tokens of the previous one, as a real key rotation would.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from enum import Enum

ACCOUNT_ID = "5826259115"
HEADER = {"alg": "HS256", "typ": "JWT"}


class TokenProblem(Enum):
    """Why a bearer token is refused."""

    MALFORMED = "malformed"
    EXPIRED = "expired"


def _encode(part: bytes) -> str:
    return base64.urlsafe_b64encode(part).rstrip(b"=").decode()


def _decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json(part: Mapping[str, object]) -> bytes:
    return json.dumps(part, separators=(",", ":")).encode()


class Tokens:
    """Issues and checks the sandbox's JWTs; `clock` gives the time in epoch seconds."""

    def __init__(self, ttl: int, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self._key = secrets.token_bytes(32)
        self._clock = clock

    def issue(self) -> str:
        """A token for the sandbox's account, valid `ttl` seconds from now."""
        issued = int(self._clock())
        payload = {"id": ACCOUNT_ID, "iat": issued, "exp": issued + self.ttl}
        signed = f"{_encode(_json(HEADER))}.{_encode(_json(payload))}"
        return f"{signed}.{_encode(self._signature(signed))}"

    def check(self, token: str) -> TokenProblem | None:
        """None when `token` is one this sandbox issued and it has not expired."""
        parts = token.split(".")
        if len(parts) != 3:
            return TokenProblem.MALFORMED
        signed = f"{parts[0]}.{parts[1]}"
        try:
            signature = _decode(parts[2])
            payload = json.loads(_decode(parts[1]))
        except (binascii.Error, ValueError):
            return TokenProblem.MALFORMED
        if not hmac.compare_digest(signature, self._signature(signed)):
            return TokenProblem.MALFORMED
        expires = payload.get("exp") if isinstance(payload, dict) else None
        if not isinstance(expires, int):
            return TokenProblem.MALFORMED
        return TokenProblem.EXPIRED if self._clock() >= expires else None

    def _signature(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode(), hashlib.sha256).digest()
