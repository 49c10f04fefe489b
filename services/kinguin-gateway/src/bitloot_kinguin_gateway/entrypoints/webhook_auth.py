"""Whether a webhook call comes from Kinguin, and its headers as they may be logged."""

from typing import Literal

from starlette.datastructures import Headers

from bitloot_runtime.logging import REDACTED
from bitloot_runtime.signatures import hmac_sha512_hex, matches_any, matches_any_hex

SIGNATURE_HEADER = "x-kinguin-signature"
EVENT_HEADER = "x-event-name"
_ALWAYS_REDACTED = frozenset({SIGNATURE_HEADER, "authorization", "cookie", "x-api-key"})

AuthScheme = Literal["secret", "signature", "either"]


class WebhookAuth:
    """Whether a call comes from Kinguin: its shared secret header, or the HMAC-SHA512 of
    the raw body under the secret, as configured; current and previous secret accepted."""

    def __init__(self, scheme: AuthScheme, secrets: tuple[str, ...], secret_header: str) -> None:
        self.scheme = scheme
        self.secrets = secrets
        self.secret_header = secret_header.lower()

    def verify(self, headers: Headers, raw_body: bytes) -> bool:
        by_secret = matches_any(headers.get(self.secret_header), self.secrets)
        signatures = [hmac_sha512_hex(secret, raw_body) for secret in self.secrets]
        by_signature = matches_any_hex(headers.get(SIGNATURE_HEADER), signatures)
        if self.scheme == "secret":
            return by_secret
        if self.scheme == "signature":
            return by_signature
        return by_secret or by_signature

    def loggable(self, headers: Headers) -> dict[str, str]:
        """The headers with every secret-bearing value replaced."""
        hidden = _ALWAYS_REDACTED | {self.secret_header}
        return {name: REDACTED if name in hidden else value for name, value in headers.items()}
