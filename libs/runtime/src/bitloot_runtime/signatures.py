"""Verifying what providers sign: HMAC signatures and shared secrets, compared in
constant time, against the current and the previous secret (so a secret can be rotated
at the provider and here without a window in which genuine calls are refused)."""

import hashlib
import hmac
from collections.abc import Iterable


def hmac_sha512_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha512).hexdigest()


def matches_any(presented: str | None, expected: Iterable[str]) -> bool:
    """Whether `presented` equals one of `expected`, compared in constant time.

    Every candidate is compared (no early return), so the time taken does not reveal
    which secret matched or how much of a guess was right.
    """
    if not presented:
        return False
    given = presented.strip().lower().encode()
    found = False
    for candidate in expected:
        found |= hmac.compare_digest(given, candidate.lower().encode())
    return found


def secrets_in_rotation(current: str, previous: str | None) -> tuple[str, ...]:
    """The secrets to accept: the current one, and the previous one while it is set."""
    return (current, previous) if previous else (current,)
