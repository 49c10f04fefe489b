import hashlib
import hmac

from bitloot_runtime.signatures import (
    hmac_sha512_hex,
    matches_any,
    matches_any_hex,
    secrets_in_rotation,
)


def test_hmac_sha512_hex_is_the_standard_digest() -> None:
    expected = hmac.new(b"key", b"body", hashlib.sha512).hexdigest()
    assert hmac_sha512_hex("key", b"body") == expected
    assert len(expected) == 128


def test_a_secret_matches_only_exactly_with_its_case() -> None:
    assert matches_any(" Tok3n-Secret ", ["other", "Tok3n-Secret"])
    assert not matches_any("tok3n-secret", ["Tok3n-Secret"])
    assert not matches_any("Tok3n-Secre", ["Tok3n-Secret"])
    assert not matches_any(None, ["Tok3n-Secret"])
    assert not matches_any("", [""])


def test_a_hex_digest_matches_in_either_case() -> None:
    assert matches_any_hex(" ABCDEF ", ["123456", "abcdef"])
    assert not matches_any_hex("abcdee", ["abcdef"])
    assert not matches_any_hex(None, ["abcdef"])


def test_the_previous_secret_counts_only_while_it_is_set() -> None:
    assert secrets_in_rotation("now", "before") == ("now", "before")
    assert secrets_in_rotation("now", None) == ("now",)
    assert secrets_in_rotation("now", "") == ("now",)
