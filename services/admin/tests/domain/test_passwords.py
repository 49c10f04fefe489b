"""Admin password hashes: today's parameters, older hashes still accepted and replaced."""

import pytest
from argon2 import PasswordHasher

from bitloot_admin.domain.passwords import (
    WeakPassword,
    hash_password,
    needs_rehash,
    rehash,
    verify_password,
)

PASSWORD = "correct-horse-battery"


def test_a_new_hash_is_argon2id_at_19_mib_two_passes_one_lane() -> None:
    # The memory a login holds is in the hash: 19 MiB, not the 64 MiB of the default.
    assert hash_password(PASSWORD).startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_a_hash_made_with_the_old_default_parameters_verifies_and_asks_to_be_replaced() -> None:
    old = PasswordHasher().hash(PASSWORD)  # argon2-cffi's default: 64 MiB, t=3, p=4
    assert old.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(old, PASSWORD)
    assert not verify_password(old, "wrong-horse-battery")
    assert needs_rehash(old)
    assert not needs_rehash(rehash(PASSWORD))
    assert not needs_rehash(hash_password(PASSWORD))


def test_a_short_password_is_refused_but_an_accepted_one_is_rehashed_whatever_its_length() -> None:
    with pytest.raises(WeakPassword):
        hash_password("short")
    assert verify_password(rehash("short"), "short")


def test_an_unknown_admin_checks_a_dummy_hash_and_is_refused() -> None:
    assert not verify_password(None, PASSWORD)
    assert not verify_password("not-a-hash", PASSWORD)
