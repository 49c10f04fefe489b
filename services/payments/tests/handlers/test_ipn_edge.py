"""Whatever body reaches the IPN edge, with or without a signature header: a 4xx with a
machine-readable reason, logged, or (authentic) a 200; never a 5xx."""

import hashlib
import hmac
import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payments_support import SECRET, ipn, results, scalar
from sqlalchemy import func, select

from bitloot_payments.adapters.orm import ipn_log
from bitloot_runtime.service import ServiceRuntime

ORDER = "0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10"


def raw_signature(body: bytes, secret: str = SECRET) -> str:
    """What NOWPayments sends for a body it serialised itself: HMAC of the bytes."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def signed(body: bytes) -> dict[str, str]:
    return {"x-nowpayments-sig": raw_signature(body)}


async def test_a_lone_surrogate_with_a_signature_header_is_a_clear_400_and_logged(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    """A cut emoji, as JavaScript writes one: no recipe signs it, no database stores it."""
    body = b'{"order_description": "\\ud83c", "payment_id": 1, "payment_status": "finished"}'
    answer = await client.post("/payments/ipn", content=body, headers=signed(body))
    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed_json"
    assert "surrogate" in answer.json()["detail"]
    assert await results(runtime) == [(False, False, "malformed_json")]


async def test_a_key_given_twice_says_duplicate_json_key(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    body = b'{"payment_status": "waiting", "payment_status": "finished", "payment_id": 1}'
    answer = await client.post("/payments/ipn", content=body, headers=signed(body))
    assert (answer.status_code, answer.json()["error"]) == (400, "duplicate_json_key")
    assert "payment_status" in answer.json()["detail"]
    assert await results(runtime) == [(False, False, "duplicate_json_key")]


async def test_a_nul_character_is_refused_before_it_reaches_the_database(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    body = json.dumps(ipn(ORDER, "finished", payment_id="5\u00007")).encode()
    answer = await client.post("/payments/ipn", content=body, headers=signed(body))
    assert (answer.status_code, answer.json()["error"]) == (400, "malformed_json")


async def test_a_body_signed_as_sent_is_authentic_whatever_its_number_format(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    """NOWPayments serialises in JavaScript (``0.000002``, where Python writes ``2e-06``):
    the HMAC of the raw bytes is what it sends."""
    body = (
        b'{"actually_paid":0.000002,"order_id":"' + ORDER.encode() + b'",'
        b'"pay_amount":0.000002,"payment_id":9,"payment_status":"waiting"}'
    )
    answer = await client.post("/payments/ipn", content=body, headers=signed(body))
    assert answer.status_code == 200, answer.text


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
IPN_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "payment_id": st.integers() | st.text(),
        "order_id": st.just(ORDER) | st.uuids().map(str) | st.text() | st.none(),
        "payment_status": st.sampled_from(["waiting", "finished", "expired", "refunded"])
        | st.text(),
        "parent_payment_id": st.integers() | st.none(),
        "price_amount": st.integers() | st.floats() | st.text(),
        "actually_paid": st.integers() | st.floats(),
        "updated_at": st.integers() | st.text(),
    },
).map(lambda d: json.dumps(d).encode())
BODIES = (
    st.binary(max_size=200)
    | JSON_VALUES.map(lambda v: json.dumps(v).encode())
    | IPN_LIKE
    | st.text(max_size=50).map(lambda t: ('{"payment_id": "' + t + '"}').encode("utf-8", "replace"))
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES, signed=st.sampled_from(["valid", "forged", "empty"]))
async def test_no_body_with_a_signature_header_gets_a_5xx(
    client: httpx.AsyncClient, runtime: ServiceRuntime, body: bytes, signed: str
) -> None:
    signature = {"valid": raw_signature(body), "forged": "ab" * 64, "empty": ""}[signed]
    before = await scalar(runtime, select(func.count()).select_from(ipn_log))
    answer = await client.post(
        "/payments/ipn", content=body, headers={"x-nowpayments-sig": signature}
    )
    assert answer.status_code in (200, 400, 401), answer.text
    if answer.status_code != 200:
        assert answer.json()["error"] in (
            "malformed_json",
            "duplicate_json_key",
            "not_an_object",
            "invalid_signature",
        )
    after = await scalar(runtime, select(func.count()).select_from(ipn_log))
    assert after == (before or 0) + 1, "every IPN, refused or not, is logged once"
