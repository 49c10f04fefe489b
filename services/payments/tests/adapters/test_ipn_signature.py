import hashlib
import hmac
import json

import pytest

from bitloot_payments.adapters.ipn_signature import InvalidIpnBody, sign, verify

SECRET = "ipn-secret-current"
PREVIOUS = "ipn-secret-previous"
IPN = {
    "payment_id": 5077125051,
    "payment_status": "finished",
    "pay_address": "TNDFkiSmBQorNFacb3735q8MnT29sn8BLn",
    "price_amount": 12.5,
    "price_currency": "usd",
    "order_id": "0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10",
    "order_description": "Jeu vidéo",
    "fee": {"currency": "btc", "depositFee": 0, "withdrawalFee": 0, "serviceFee": 0},
}


def nowpayments_signature(document: dict[str, object], secret: str) -> str:
    """NOWPayments' published Python recipe, verbatim."""
    message = json.dumps(document, separators=(",", ":"), sort_keys=True)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


def test_a_body_signed_as_nowpayments_signs_it_is_accepted_whatever_its_key_order() -> None:
    body = json.dumps(dict(reversed(list(IPN.items()))), indent=2, ensure_ascii=False).encode()
    assert verify(body, nowpayments_signature(IPN, SECRET), [SECRET])
    assert sign(body, SECRET) == nowpayments_signature(IPN, SECRET)


def test_the_variant_with_non_ascii_characters_unescaped_is_accepted() -> None:
    unescaped = json.dumps(IPN, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    signature = hmac.new(SECRET.encode(), unescaped.encode(), hashlib.sha512).hexdigest()
    assert verify(json.dumps(IPN).encode(), signature, [SECRET])


def test_the_previous_secret_is_accepted_during_rotation_and_an_unknown_one_is_not() -> None:
    body = json.dumps(IPN).encode()
    assert verify(body, nowpayments_signature(IPN, PREVIOUS), [SECRET, PREVIOUS])
    assert not verify(body, nowpayments_signature(IPN, "someone-else"), [SECRET, PREVIOUS])


@pytest.mark.parametrize("signature", [None, "", "00" * 64, "not-hex"])
def test_missing_or_wrong_signature_is_refused(signature: str | None) -> None:
    assert not verify(json.dumps(IPN).encode(), signature, [SECRET])


def test_a_changed_amount_breaks_the_signature() -> None:
    signature = nowpayments_signature(IPN, SECRET)
    forged = json.dumps({**IPN, "price_amount": 1250}).encode()
    assert not verify(forged, signature, [SECRET])


def test_upper_case_hex_is_the_same_signature() -> None:
    signature = nowpayments_signature(IPN, SECRET).upper()
    assert verify(json.dumps(IPN).encode(), signature, [SECRET])


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_refused_with_a_clear_error(body: bytes) -> None:
    with pytest.raises(InvalidIpnBody):
        verify(body, "00", [SECRET])
