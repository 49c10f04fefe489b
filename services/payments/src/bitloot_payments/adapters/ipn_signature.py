"""NOWPayments IPN signatures, computed exactly as NOWPayments computes them.

The `x-nowpayments-sig` header is the hex HMAC-SHA512, keyed with the IPN secret, of the
body re-serialised with keys sorted at every level and compact separators (their Python
example: ``json.dumps(body, separators=(',', ':'), sort_keys=True)``; their Node example:
``JSON.stringify(sortObject(body))``). Real IPNs arrive already serialised that way, so
the raw body is tried first. The recipes differ in three ways, so each is accepted:
non-ASCII text escaped (Python) or not (Node), numbers written as sent (``12.50``) or as
a float prints them (``12.5``), and arrays kept (Python) or turned into objects keyed
``"0"``, ``"1"``… (what Node's documented `sortObject` does to them).

A body that is not a JSON object, names a key twice, or holds what no recipe could have
signed or no database could store (NaN, a lone surrogate, a NUL character) is refused
with a `code` saying which (`InvalidIpnBody`).
"""

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from pydantic import JsonValue

from bitloot_payments.domain import Coded
from bitloot_runtime.http import DuplicateJsonKey, unique_keys
from bitloot_runtime.signatures import hmac_sha512_hex, matches_any_hex


class InvalidIpnBody(Coded, ValueError):
    """The body is not a JSON object we can verify; `code` is the machine-readable reason
    (``malformed_json``, ``duplicate_json_key``, ``not_an_object``)."""


class RawNumber(Decimal):
    """A JSON number that remembers how it was written, so it is re-serialised unchanged."""

    text: str

    def __new__(cls, text: str) -> "RawNumber":
        number = super().__new__(cls, text)
        number.text = text
        return number


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


def parse(body: bytes) -> dict[str, JsonValue]:
    """The IPN body as a JSON object, numbers with a fraction or exponent as `RawNumber`."""
    try:
        document = json.loads(
            body,
            parse_float=RawNumber,
            parse_constant=_no_constant,
            object_pairs_hook=unique_keys,
        )
        # A lone surrogate (a cut emoji, as JavaScript writes one) cannot be encoded, and
        # PostgreSQL stores no NUL character: neither is in anything NOWPayments signs.
        text = json.dumps(document, ensure_ascii=False, default=str)
        text.encode()
    except DuplicateJsonKey as exc:
        raise InvalidIpnBody("duplicate_json_key", f"The IPN body is ambiguous: {exc}") from None
    except (ValueError, RecursionError) as exc:  # bad JSON, UTF-8, a surrogate, a huge int
        raise InvalidIpnBody("malformed_json", f"The IPN body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidIpnBody("not_an_object", "The IPN body is not a JSON object.")
    if "\\u0000" in text:
        raise InvalidIpnBody("malformed_json", "The IPN body holds a NUL character.")
    return document


@dataclass(frozen=True)
class _Recipe:
    """One way of re-serialising the body before signing."""

    ascii_only: bool
    number: Callable[["RawNumber"], str]
    arrays_as_objects: bool


def _dump(value: object, recipe: _Recipe) -> str:
    if isinstance(value, list) and recipe.arrays_as_objects and value:
        value = {str(index): item for index, item in enumerate(value)}
    if isinstance(value, dict):
        items = sorted(value.items())
        inner = ",".join(
            f"{json.dumps(k, ensure_ascii=recipe.ascii_only)}:{_dump(v, recipe)}" for k, v in items
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v, recipe) for v in value) + "]"
    if isinstance(value, RawNumber):
        return recipe.number(value)
    return json.dumps(value, ensure_ascii=recipe.ascii_only)


def _as_sent(value: RawNumber) -> str:
    return value.text


def _as_float(value: RawNumber) -> str:
    return json.dumps(float(value.text))


def _has_array(value: object) -> bool:
    if isinstance(value, list):
        return bool(value)
    return isinstance(value, dict) and any(_has_array(v) for v in value.values())


def _python_recipe(document: dict[str, JsonValue]) -> bytes:
    """NOWPayments' Python recipe (`canonical_forms`' first), in the C encoder: the form
    every IPN not signed over its raw body was signed over, so it is computed fast."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), default=_number_as_float
    ).encode()


def _number_as_float(value: object) -> float:
    if isinstance(value, RawNumber):
        return float(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _forms(document: dict[str, JsonValue]) -> Iterator[bytes]:
    """`canonical_forms`, each computed only when asked for."""
    yield _python_recipe(document)
    arrays = (False, True) if _has_array(document) else (False,)
    for as_objects in arrays:
        for number in (_as_float, _as_sent):
            for ascii_only in (True, False):
                yield _dump(document, _Recipe(ascii_only, number, as_objects)).encode()


def canonical_forms(document: dict[str, JsonValue]) -> tuple[bytes, ...]:
    """The document as NOWPayments may have serialised it before signing, Python's
    recipe first."""
    return tuple(dict.fromkeys(_forms(document)))


def sign(body: bytes, secret: str) -> str:
    """The signature NOWPayments' Python recipe gives `body` (for the sandbox and tests)."""
    return hmac_sha512_hex(secret, canonical_forms(parse(body))[0])


def verify(
    document: dict[str, JsonValue], signature: str | None, secrets: Iterable[str], body: bytes = b""
) -> bool:
    """Whether `signature` is NOWPayments' signature of `document` (from `parse`, of the
    raw `body`) under one of `secrets`.

    The forms are tried in turn (the raw body, then `canonical_forms` in order), each
    re-serialisation made only when the forms before it did not match: a genuine IPN costs
    one or two HMACs per secret, not ten. Every secret is compared for each form tried,
    so the time taken says which form matched (public knowledge), never which secret."""
    if not signature:
        return False
    keys = tuple(secrets)
    tried: set[bytes] = set()
    for form in itertools.chain((body,) if body else (), _forms(document)):
        if form in tried:
            continue
        tried.add(form)
        if matches_any_hex(signature, [hmac_sha512_hex(key, form) for key in keys]):
            return True
    return False
