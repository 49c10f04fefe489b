import re
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from bitloot_contracts.events.fields import (
    NON_NEGATIVE_DECIMAL_PATTERN,
    POSITIVE_DECIMAL_PATTERN,
    Base64,
    Code,
    CurrencyCode,
    Email,
    Money,
    PositiveMoney,
    Quantity,
)


class Fields(BaseModel):
    email: Email = "a@example.com"
    currency: CurrencyCode = "btc"
    code: Code = "out_of_stock"
    qty: Quantity = 1
    price: Money = Decimal(0)
    amount: PositiveMoney = Decimal(1)
    blob: Base64 = "AAAA"


def test_email_is_normalised_to_lower_case() -> None:
    assert Fields(email="  Buyer.Name+Tag@Example.COM ").email == "buyer.name+tag@example.com"


@pytest.mark.parametrize("email", ["用户@例子.广告", "josé@example.com", "x@münchen.de"])
def test_internationalised_email_travels(email: str) -> None:
    assert Fields(email=email).email == email


@pytest.mark.parametrize(
    "email", ["", "buyer", "buyer@example", "a b@example.com", "a@@b.com", "a@x..com"]
)
def test_malformed_email_is_rejected(email: str) -> None:
    with pytest.raises(ValidationError, match="email"):
        Fields(email=email)


@pytest.mark.parametrize("currency", ["btc", "usdttrc20", "eth"])
def test_currency_ticker_is_accepted(currency: str) -> None:
    assert Fields(currency=currency).currency == currency


@pytest.mark.parametrize("currency", ["BTC", "bt", "usdt-trc20", "averylongticker"])
def test_currency_that_is_not_a_lowercase_ticker_is_rejected(currency: str) -> None:
    with pytest.raises(ValidationError, match="currency"):
        Fields(currency=currency)


@pytest.mark.parametrize("code", ["Out of stock", "", "1xx", "out of stock"])
def test_code_must_be_machine_readable(code: str) -> None:
    with pytest.raises(ValidationError, match="code"):
        Fields(code=code)


@pytest.mark.parametrize("qty", [0, 10, -1])
def test_quantity_outside_one_to_nine_is_rejected(qty: int) -> None:
    with pytest.raises(ValidationError, match="qty"):
        Fields(qty=qty)


@pytest.mark.parametrize(
    ("price", "wire"),
    [
        (Decimal("1E+2"), "100"),
        (Decimal("-0"), "0"),
        (Decimal("39.90"), "39.90"),
        (Decimal("1E-7"), "0.0000001"),
    ],
)
def test_money_travels_as_a_plain_decimal_string(price: Decimal, wire: str) -> None:
    dumped = Fields(price=price).model_dump(mode="json")
    assert dumped["price"] == wire
    assert re.fullmatch(NON_NEGATIVE_DECIMAL_PATTERN, wire)
    assert Fields.model_validate_json(Fields(price=price).model_dump_json()).price == price


def test_money_keeps_decimal_in_python_mode() -> None:
    assert Fields(price=Decimal("39.90")).model_dump()["price"] == Decimal("39.90")


@pytest.mark.parametrize("price", ["-0.01", "NaN", "Infinity", "abc"])
def test_negative_or_non_finite_money_is_rejected(price: str) -> None:
    with pytest.raises(ValidationError, match="price"):
        Fields.model_validate({"price": price})


def test_positive_money_rejects_zero() -> None:
    with pytest.raises(ValidationError, match="amount"):
        Fields(amount=Decimal("0.00"))


@pytest.mark.parametrize("wire", ["1", "0.5", "10.00", "0.0001"])
def test_positive_decimal_pattern_accepts_positive_amounts(wire: str) -> None:
    assert re.fullmatch(POSITIVE_DECIMAL_PATTERN, wire)


@pytest.mark.parametrize("wire", ["0", "0.00", "00", "-1", "1e5", ".5", "1."])
def test_positive_decimal_pattern_rejects_zero_and_non_plain_numbers(wire: str) -> None:
    assert re.fullmatch(POSITIVE_DECIMAL_PATTERN, wire) is None


@pytest.mark.parametrize("blob", ["abc", "ab c", "-_8=", "AAA==", "A==="])
def test_base64_must_be_standard_and_padded(blob: str) -> None:
    with pytest.raises(ValidationError, match="blob"):
        Fields(blob=blob)
