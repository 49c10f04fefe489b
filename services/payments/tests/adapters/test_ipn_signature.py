"""IPN signatures against vectors computed outside this code base.

The canonical strings below are written out by hand from NOWPayments' documented IPN
example (keys sorted at every level, compact separators) and each hex digest was computed
once with ``openssl dgst -sha512 -hmac nowpayments-docs-secret`` over that string; none
of them comes from the code under test.
"""

import pytest

from bitloot_payments.adapters.ipn_signature import (
    InvalidIpnBody,
    canonical_forms,
    parse,
    sign,
    verify,
)

SECRET = "nowpayments-docs-secret"
PREVIOUS = "nowpayments-docs-secret-previous"

# NOWPayments' documented IPN, with its nested fee object, in the order they send it.
DOCUMENTED = b"""{
  "payment_id": 5077125051, "payment_status": "waiting",
  "pay_address": "0xd1cDE08A07cD25adEbEd35c3867a59228C09B606",
  "price_amount": 170, "price_currency": "usd", "pay_amount": 155.38559757,
  "actually_paid": 0, "pay_currency": "mana", "order_id": "2",
  "order_description": "Apple Macbook Pro 2019 x 1", "purchase_id": "6084744717",
  "created_at": "2021-04-12T14:22:54.942Z", "updated_at": "2021-04-12T14:23:06.244Z",
  "outcome_amount": 1131.7812095, "outcome_currency": "trx",
  "fee": {"currency": "btc", "depositFee": 0.09853637216235617, "withdrawalFee": 0, "serviceFee": 0}
}"""
DOCUMENTED_CANONICAL = (
    b'{"actually_paid":0,"created_at":"2021-04-12T14:22:54.942Z","fee":{"currency":"btc",'
    b'"depositFee":0.09853637216235617,"serviceFee":0,"withdrawalFee":0},'
    b'"order_description":"Apple Macbook Pro 2019 x 1","order_id":"2",'
    b'"outcome_amount":1131.7812095,"outcome_currency":"trx",'
    b'"pay_address":"0xd1cDE08A07cD25adEbEd35c3867a59228C09B606","pay_amount":155.38559757,'
    b'"pay_currency":"mana","payment_id":5077125051,"payment_status":"waiting",'
    b'"price_amount":170,"price_currency":"usd","purchase_id":"6084744717",'
    b'"updated_at":"2021-04-12T14:23:06.244Z"}'
)
DOCUMENTED_SIG = (
    "3a410b7e5bba3cadb7af27a283df21acb5bf4d30556c98a5c5bf7a8afb716fcc"
    "a75c14556b396e3f456541d517485b57fb0d5a85ac770f35075c0d5bcaecfa9d"
)

NON_ASCII = (
    '{"price_currency": "eur", "order_description": "Clé de jeu — ゲーム", '
    '"payment_status": "finished", "order_id": "2", "payment_id": 5077125052, '
    '"price_amount": 12.5}'
).encode()
# Python's recipe escapes non-ASCII text (\u00e9); Node's JSON.stringify does not.
NON_ASCII_ESCAPED_SIG = (
    "ce21636a29d3bc30664396834114a3e4ae4a6df5ddcc726b059c1242911d526a"
    "56e4fc66026511ad25fd4771b6cefa7237db887b526cec0a9257f7be946c33e4"
)
NON_ASCII_UNESCAPED_SIG = (
    "31391d360ef378e255ce520d0115f0acd0408eb2d8fea2188be5a36a09fa077f"
    "54fb4ce1d322a5e17c29f06e4cd0f7c5d0fb64a225cea33ccf40499045fc7748"
)

DECIMALS = (
    b'{"payment_id": 5077125053, "payment_status": "finished", "order_id": "3", '
    b'"price_amount": 12.50, "price_currency": "usd", "pay_amount": 0.00012340, '
    b'"actually_paid": 0.00012340}'
)
# Parsed as floats (Python's recipe): 12.5 and 0.0001234.
DECIMALS_AS_FLOATS_SIG = (
    "bfc367caaec1794dadd942135201813e4d6798fbb7d68d7e9cdbf0daaae6f35b"
    "d93da13f047ea4d7aacd11380875fcb2beb33e0c28f0199daab1acd3f5db4266"
)
# Numbers kept as written: 12.50 and 0.00012340.
DECIMALS_AS_SENT_SIG = (
    "0f5428c0f7d00aaf55893cdf3a644f536fe4f64a36d9b81ff46a4e257f787416"
    "c38ab64a019f57f20111b1856415f965ccd0fa04be88b7b549abdcb15af83792"
)


def test_the_documented_ipn_with_its_nested_fee_verifies_whatever_its_layout() -> None:
    assert canonical_forms(parse(DOCUMENTED))[0] == DOCUMENTED_CANONICAL
    assert verify(parse(DOCUMENTED), DOCUMENTED_SIG, [SECRET])
    assert sign(DOCUMENTED, SECRET) == DOCUMENTED_SIG


@pytest.mark.parametrize("signature", [NON_ASCII_ESCAPED_SIG, NON_ASCII_UNESCAPED_SIG])
def test_non_ascii_text_verifies_escaped_or_unescaped(signature: str) -> None:
    assert verify(parse(NON_ASCII), signature, [SECRET])


@pytest.mark.parametrize("signature", [DECIMALS_AS_FLOATS_SIG, DECIMALS_AS_SENT_SIG])
def test_decimal_amounts_verify_as_floats_print_them_or_as_sent(signature: str) -> None:
    assert verify(parse(DECIMALS), signature, [SECRET])


def test_decimal_amounts_keep_their_exact_value_once_parsed() -> None:
    document = parse(DECIMALS)
    assert str(document["price_amount"]) == "12.50"
    assert str(document["pay_amount"]) == "0.00012340"


def test_the_previous_secret_is_accepted_during_rotation_and_an_unknown_one_is_not() -> None:
    previous = sign(DOCUMENTED, PREVIOUS)
    assert verify(parse(DOCUMENTED), previous, [SECRET, PREVIOUS])
    assert not verify(parse(DOCUMENTED), previous, [SECRET])
    assert not verify(parse(DOCUMENTED), sign(DOCUMENTED, "someone-else"), [SECRET, PREVIOUS])


@pytest.mark.parametrize("signature", [None, "", "00" * 64, "not-hex", DOCUMENTED_SIG[:-2]])
def test_missing_or_wrong_signature_is_refused(signature: str | None) -> None:
    assert not verify(parse(DOCUMENTED), signature, [SECRET])


def test_a_changed_amount_breaks_the_signature() -> None:
    forged = DOCUMENTED.replace(b'"price_amount": 170', b'"price_amount": 1.70')
    assert not verify(parse(forged), DOCUMENTED_SIG, [SECRET])


def test_upper_case_hex_is_the_same_signature() -> None:
    assert verify(parse(DOCUMENTED), DOCUMENTED_SIG.upper(), [SECRET])


NOT_OBJECTS = [b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"[" * 100_000, b'{"a": NaN}']


@pytest.mark.parametrize("body", NOT_OBJECTS)
def test_a_body_that_is_not_a_json_object_is_refused_with_a_clear_error(body: bytes) -> None:
    with pytest.raises(InvalidIpnBody):
        parse(body)


def test_a_key_given_twice_is_refused_rather_than_verified_on_one_value() -> None:
    # Which value a JSON parser keeps differs between parsers: a signature checked on one
    # reading must not be applied to another.
    with pytest.raises(InvalidIpnBody, match="appears twice"):
        parse(b'{"payment_status": "waiting", "payment_status": "finished"}')
