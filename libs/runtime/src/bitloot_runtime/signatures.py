"""Verifying what providers sign: HMAC signatures and shared secrets, compared in
constant time, against the current and the previous secret (so a secret can be rotated
at the provider and here without a window in which genuine calls are refused)."""

import hashlib
import hmac
from collections.abc import Iterable


def hmac_sha512_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


def matches_any(presented: str | None, expected: Iterable[str]) -> bool:
    """Whether `presented` equals one of `expected` exactly, compared in constant time:
    for shared secrets and tokens, whose case is part of their strength.

    Every candidate is compared (no early return), so the time taken does not reveal
    which secret matched or how much of a guess was right.
    """
    if not presented:
        return False
    return _any_equal(presented.strip().encode(), (c.encode() for c in expected))


def matches_any_hex(presented: str | None, expected: Iterable[str]) -> bool:
    """Like `matches_any` for hex digests, which providers send in either case."""
    if not presented:
        return False
    return _any_equal(presented.strip().lower().encode(), (c.lower().encode() for c in expected))


def _any_equal(given: bytes, candidates: Iterable[bytes]) -> bool:
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(given, candidate)
    return found


def secrets_in_rotation(current: str, previous: str | None) -> tuple[str, ...]:
    """The secrets to accept: the current one, and the previous one while it is set."""
    return (current, previous) if previous else (current,)
