import math

import pytest

from bitloot_sandbox_nowpayments.js_json import js_number, stringify

# What JSON.stringify writes for each number (taken from node 20).
JAVASCRIPT = [
    (0.0, "0"),
    (-0.0, "0"),
    (15.0, "15"),
    (0.000002, "0.000002"),
    (0.0000158, "0.0000158"),
    (1e-6, "0.000001"),
    (1e-7, "1e-7"),
    (1.5e-7, "1.5e-7"),
    (-2.5e-8, "-2.5e-8"),
    (123e-20, "1.23e-18"),
    (0.1 + 0.2, "0.30000000000000004"),
    (0.09853637216235617, "0.09853637216235617"),
    (1e20, "100000000000000000000"),
    (123456789012345680000.0, "123456789012345680000"),
    (1e21, "1e+21"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (5e-324, "5e-324"),
    (float(2**53), "9007199254740992"),
]


@pytest.mark.parametrize(("value", "written"), JAVASCRIPT)
def test_numbers_are_written_as_javascript_writes_them(value: float, written: str) -> None:
    assert js_number(value) == written


def test_numbers_json_cannot_carry_are_null() -> None:
    assert [js_number(v) for v in (math.nan, math.inf, -math.inf)] == ["null"] * 3


def test_objects_have_their_keys_sorted_at_every_level_and_no_spaces() -> None:
    value = {"b": {"z": 1, "a": [2e-6, None, True]}, "a": "x"}

    assert stringify(value) == '{"a":"x","b":{"a":[0.000002,null,true],"z":1}}'


def test_text_is_escaped_as_javascript_escapes_it() -> None:
    # JSON.stringify leaves non-ASCII and U+2028 alone, escapes a lone surrogate, in lowercase.
    text = 'é\u2028\ud800\u001f"\\/'

    assert stringify(text) == '"é\u2028\\ud800\\u001f\\"\\\\/"'


def test_what_json_cannot_carry_is_refused() -> None:
    with pytest.raises(TypeError, match="Not JSON"):
        stringify({"a": {1, 2}})
