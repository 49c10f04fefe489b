import hashlib
import hmac

from bitloot_runtime.signatures import hmac_sha512_hex, matches_any, secrets_in_rotation


def test_hmac_sha512_hex_is_the_standard_digest() -> None:
    expected = hmac.new(b"key", b"body", hashlib.sha512).hexdigest()
    assert hmac_sha512_hex("key", b"body") == expected
    assert len(expected) == 128


def test_a_presented_value_matches_any_candidate_ignoring_case_and_spaces() -> None:
    assert matches_any(" ABCDEF ", ["123456", "abcdef"])
    assert not matches_any("abcdee", ["abcdef"])
    assert not matches_any(None, ["abcdef"])
    assert not matches_any("", [""])


def test_the_previous_secret_counts_only_while_it_is_set() -> None:
    assert secrets_in_rotation("now", "before") == ("now", "before")
    assert secrets_in_rotation("now", None) == ("now",)
    assert secrets_in_rotation("now", "") == ("now",)
