"""Field types shared by several events, each with the constraint that makes it meaningful."""

from decimal import Decimal
from typing import Annotated, Final

from pydantic import BeforeValidator, Field, PlainSerializer, StringConstraints, WithJsonSchema

# Deliberately simple: the payments edge has already accepted the address under the full
# rules (email-validator: syntax, lengths, IDNA); this only keeps obviously broken values off
# the bus. Internationalised addresses (RFC 6531: `josé@example.com`, `用户@例子.广告`) pass,
# hence no ASCII class. Lower-case because the address is matched and deduplicated
# downstream.
EMAIL_PATTERN: Final = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
NON_NEGATIVE_DECIMAL_PATTERN: Final = r"^[0-9]+(\.[0-9]+)?$"
# Without look-ahead (not every validator of the published schema supports it): a plain
# decimal with at least one non-zero digit.
POSITIVE_DECIMAL_PATTERN: Final = r"^([0-9]*[1-9][0-9]*(\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*)$"
BASE64_PATTERN: Final = r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _normalise_email(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _plain_decimal(value: Decimal) -> str:
    # str() writes exponents ("1E+2") and keeps the sign of zero ("-0"); the wire format is
    # plain digits so that the published pattern holds for everything we produce.
    return format(abs(value) if value.is_zero() else value, "f")


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""An id issued by BitLoot or a provider (payment id, Kinguin product or order id, sku)."""

Email = Annotated[
    str,
    StringConstraints(max_length=254, pattern=EMAIL_PATTERN),
    BeforeValidator(_normalise_email),
]
"""A customer address, normalised to lower case."""

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{3,10}$")]
"""A NOWPayments currency ticker, e.g. `btc`, `usdttrc20`."""

Code = Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")]
"""A machine-readable reason or stage, e.g. `out_of_stock`."""

Text = Annotated[str, StringConstraints(min_length=1)]
"""Human-readable explanation, shown to admins."""

Quantity = Annotated[int, Field(ge=1, le=9)]
"""Keys of one product in one order; Kinguin accepts at most 9."""

Count = Annotated[int, Field(ge=1)]
"""A number of keys: an event about zero keys is a bug upstream."""

Money = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False),
    PlainSerializer(_plain_decimal, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": NON_NEGATIVE_DECIMAL_PATTERN}, "serialization"),
]
"""A non-negative amount, carried as a decimal string so no float ever rounds it."""

PositiveMoney = Annotated[
    Decimal,
    Field(gt=0, allow_inf_nan=False),
    PlainSerializer(_plain_decimal, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": POSITIVE_DECIMAL_PATTERN}, "serialization"),
]
"""A strictly positive amount, as a decimal string."""

Base64 = Annotated[str, StringConstraints(min_length=4, pattern=BASE64_PATTERN)]
"""Standard, padded base64."""
