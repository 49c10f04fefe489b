"""NOWPayments IPN signatures, computed exactly as NOWPayments computes them.

The `x-nowpayments-sig` header is the hex HMAC-SHA512, keyed with the IPN secret, of the
body re-serialised with keys sorted at every level and compact separators (their Python
example: ``json.dumps(body, separators=(',', ':'), sort_keys=True)``). Senders differ on
non-ASCII text (escaped or not), so both serialisations are accepted.
"""

import json
from collections.abc import Iterable

from bitloot_runtime.signatures import hmac_sha512_hex, matches_any


class InvalidIpnBody(ValueError):
    """The body is not a JSON object, so there is nothing to verify."""


def canonical_forms(body: bytes) -> tuple[bytes, ...]:
    """The body as NOWPayments serialises it before signing, in both ASCII variants."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidIpnBody(f"IPN body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidIpnBody("IPN body is not a JSON object.")
    escaped = json.dumps(document, separators=(",", ":"), sort_keys=True)
    unescaped = json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return tuple(dict.fromkeys((escaped.encode(), unescaped.encode())))


def sign(body: bytes, secret: str) -> str:
    """The signature NOWPayments would send for `body` (used by the sandbox and tests)."""
    return hmac_sha512_hex(secret, canonical_forms(body)[0])


def verify(body: bytes, signature: str | None, secrets: Iterable[str]) -> bool:
    """Whether `signature` is NOWPayments' signature of `body` under one of `secrets`."""
    expected = [hmac_sha512_hex(s, form) for s in secrets for form in canonical_forms(body)]
    return matches_any(signature, expected)
