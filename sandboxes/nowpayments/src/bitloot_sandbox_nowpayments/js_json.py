"""JSON written the way JavaScript's ``JSON.stringify`` writes it, keys sorted.

NOWPayments' servers are JavaScript: an IPN body is ``JSON.stringify`` of the payment with
its keys sorted, so a fee of 0.000002 travels as ``0.000002`` where Python's `json` writes
``2e-06``, and non-ASCII text travels unescaped. A receiver that re-serialises with
Python's recipe gets other bytes; the sandbox sends what NOWPayments sends.
"""

import json
import re
from decimal import Decimal

# JSON.stringify escapes a lone surrogate (which cannot be UTF-8) as \\uXXXX, lowercase.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def stringify(value: object) -> str:
    """`value` (dicts, lists, str, int, float, bool, None) as ``JSON.stringify`` writes it,
    with the keys of every object sorted and no whitespace."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{_string(k)}:{stringify(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(stringify(item) for item in value) + "]"
    raise TypeError(f"Value {value!r} of type {type(value).__name__}. Not JSON.")


def js_number(value: float) -> str:
    """A number as JavaScript's ``Number.prototype.toString`` writes it (ECMA-262
    Number::toString): the shortest digits that round-trip, fixed notation from 1e-7 up
    to 1e21, exponent notation (``1.5e-7``, ``1e+21``) outside; NaN and infinities are
    ``null`` as in ``JSON.stringify``."""
    if value != value or value in (float("inf"), float("-inf")):
        return "null"
    if value == 0:
        return "0"
    if value < 0:
        return "-" + js_number(-value)
    # repr gives the shortest round-tripping digits, as JavaScript does; only the layout differs.
    parts = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, parts.digits)).rstrip("0")
    k = len(digits)
    # The decimal point sits after the first n digits (the exponent is an int: value is finite).
    n = int(parts.exponent) + len(parts.digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def _string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", encoded)
