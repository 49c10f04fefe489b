"""Admin passwords: argon2id hashes, never the password itself.

The parameters are OWASP's recommended minimum for argon2id (Password Storage Cheat
Sheet: 19 MiB of memory, 2 passes, 1 lane), not argon2-cffi's default, RFC 9106's
low-memory profile (64 MiB, 3 passes, 4 lanes). Each hash or check holds its memory for
as long as it runs, and at 64 MiB one login took the admin service's peak resident set
from 113 to 176 MB, over the 120 MB every service is held to (issue #20). Online guessing
is held back by the lockout and the login throttle, not by the hash. A hash made with
other parameters (any made before) still verifies, and `needs_rehash` says to replace it
at the admin's next successful login.
"""

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1

_hasher = PasswordHasher(
    time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM, type=Type.ID
)


class WeakPassword(ValueError):
    def __init__(self) -> None:
        super().__init__(f"An admin password needs at least {MIN_LENGTH} characters.")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (unknown user) a dummy hash is checked
    anyway, so the answer takes as long and does not reveal which usernames exist."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a hash that verified was made with other parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def rehash(password: str) -> str:
    """A hash with today's parameters of a password that has just verified: no length
    rule applies, the password is the account's already."""
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not-an-admin-password")
