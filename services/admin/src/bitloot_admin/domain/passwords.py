"""Admin passwords: argon2id hashes, never the password itself."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12

_hasher = PasswordHasher()


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


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not-an-admin-password")
