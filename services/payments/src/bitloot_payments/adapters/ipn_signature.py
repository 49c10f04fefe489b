"""NOWPayments IPN signatures, computed exactly as NOWPayments computes them.

The `x-nowpayments-sig` header is the hex HMAC-SHA512, keyed with the IPN secret, of the
body re-serialised with keys sorted at every level and compact separators (their Python
example: ``json.dumps(body, separators=(',', ':'), sort_keys=True)``; their Node example:
``JSON.stringify(sortObject(body))``). The variants differ in two ways, so each is
accepted: non-ASCII text escaped (Python) or not (Node), and numbers written as sent
(``12.50``) or as a float prints them (``12.5``).
"""

import json
from collections.abc import Callable, Iterable
from decimal import Decimal

from bitloot_runtime.http import DuplicateJsonKey, unique_keys
from bitloot_runtime.signatures import hmac_sha512_hex, matches_any_hex


class InvalidIpnBody(ValueError):
    """The body is not a JSON object, so there is nothing to verify."""


class RawNumber(Decimal):
    """A JSON number that remembers how it was written, so it is re-serialised unchanged."""

    text: str

    def __new__(cls, text: str) -> "RawNumber":
        number = super().__new__(cls, text)
        number.text = text
        return number


def parse(body: bytes) -> dict[str, object]:
    """The IPN body as a JSON object, numbers with a fraction or exponent as `RawNumber`."""
    try:
        document = json.loads(body, parse_float=RawNumber, object_pairs_hook=unique_keys)
    except DuplicateJsonKey as exc:
        raise InvalidIpnBody(f"IPN body is ambiguous: {exc}") from None
    except (ValueError, RecursionError) as exc:  # bad JSON, UTF-8 or a huge integer
        raise InvalidIpnBody(f"IPN body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidIpnBody("IPN body is not a JSON object.")
    return document


def _dump(value: object, ascii_only: bool, number: Callable[[RawNumber], str]) -> str:
    if isinstance(value, dict):
        items = sorted(value.items())
        inner = ",".join(
            f"{json.dumps(k, ensure_ascii=ascii_only)}:{_dump(v, ascii_only, number)}"
            for k, v in items
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v, ascii_only, number) for v in value) + "]"
    if isinstance(value, RawNumber):
        return number(value)
    return json.dumps(value, ensure_ascii=ascii_only)


def _as_sent(value: RawNumber) -> str:
    return value.text


def _as_float(value: RawNumber) -> str:
    return json.dumps(float(value.text))


def canonical_forms(document: dict[str, object]) -> tuple[bytes, ...]:
    """The document as NOWPayments may have serialised it before signing, Python's
    recipe first."""
    forms = (
        _dump(document, ascii_only, number).encode()
        for number in (_as_float, _as_sent)
        for ascii_only in (True, False)
    )
    return tuple(dict.fromkeys(forms))


def sign(body: bytes, secret: str) -> str:
    """The signature NOWPayments' Python recipe gives `body` (for the sandbox and tests)."""
    return hmac_sha512_hex(secret, canonical_forms(parse(body))[0])


def verify(document: dict[str, object], signature: str | None, secrets: Iterable[str]) -> bool:
    """Whether `signature` is NOWPayments' signature of `document` (from `parse`) under one
    of `secrets`."""
    if not signature:
        return False
    forms = canonical_forms(document)
    return matches_any_hex(signature, [hmac_sha512_hex(s, form) for s in secrets for form in forms])
