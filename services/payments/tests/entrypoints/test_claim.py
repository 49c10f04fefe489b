"""The public refund claim page: the customer sees their refund and gives a payout
address; a bad address, a replayed claim, a forged or expired link change nothing; it
answers pages with the reveal page's headers, or JSON; and it is rate-limited."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from refund_support import (
    PAID,
    TRON_ADDRESS,
    claim_token,
    emitted,
    made_due,
    refund_rows,
    set_refund,
)

from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tokens import ClaimTokenSigner, generate_key_pair, load_private_key

JSON = {"accept": "application/json"}
BECH32 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
EIP55 = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


async def claim(
    client: httpx.AsyncClient, token: str, address: str, extra_id: str = "", **headers: str
) -> httpx.Response:
    form = {"token": token, "address": address, "extra_id": extra_id}
    return await client.post("/refunds/claim", data=form, headers=headers)


async def unchanged(runtime: ServiceRuntime, order_id: str) -> dict[str, Any]:
    [refund] = await refund_rows(runtime, order_id)
    assert (refund["status"], refund["payout_address"], refund["claimed_at"]) == ("due", None, None)
    assert len(await emitted(runtime, order_id, "refund.status_changed")) == 1
    return refund


def assert_private_page(answer: httpx.Response) -> None:
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "form-action 'self'" in answer.headers["content-security-policy"]


async def test_the_customer_sees_the_refund_and_claims_it_once(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    token = claim_token(refund_id, order_id)
    shown = await client.get("/refunds/claim", params={"token": token})
    assert shown.status_code == 200
    assert_private_page(shown)
    assert order_id in shown.text
    assert f"{PAID} USDTTRC20" in shown.text
    assert "none was bought for you" in shown.text
    assert 'name="address"' in shown.text
    assert 'name="extra_id"' not in shown.text

    answer = await claim(client, token, f" {TRON_ADDRESS} ")
    assert answer.status_code == 200, answer.text
    assert_private_page(answer)
    assert "email with the transaction id" in answer.text
    [refund] = await refund_rows(runtime, order_id)
    assert (refund["status"], refund["payout_address"], refund["payout_extra_id"]) == (
        "claimed",
        TRON_ADDRESS,
        None,
    )
    assert refund["claimed_at"] is not None
    changes = await emitted(runtime, order_id, "refund.status_changed")
    assert [(c["status"], c["previous_status"]) for c in changes] == [
        ("due", None),
        ("claimed", "due"),
    ]

    again = await claim(client, token, "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8", **JSON)
    assert again.status_code == 409
    assert again.json()["error"] == "already_claimed"
    assert (await refund_rows(runtime, order_id))[0]["payout_address"] == TRON_ADDRESS
    assert len(await emitted(runtime, order_id, "refund.status_changed")) == 2
    page = await client.get("/refunds/claim", params={"token": token})
    assert page.status_code == 200
    assert "Refund claimed" in page.text
    assert "<form" not in page.text


@pytest.mark.parametrize(
    ("currency", "address", "extra_id", "code"),
    [
        ("btc", BECH32[:-1] + "5", "", "address_checksum"),
        ("eth", EIP55[:3] + EIP55[3].swapcase() + EIP55[4:], "", "address_checksum"),
        ("usdterc20", "0x123", "", "address_invalid"),
        ("usdttrc20", TRON_ADDRESS[:-1] + "m", "", "address_checksum"),
        ("usdttrc20", "", "", "address_required"),
        ("sol", "a" * 129, "", "address_too_long"),
        ("ltc", BECH32, "", "address_invalid"),
        ("eos", "bitlootshop1", "", "extra_id_required"),
        ("xrp", "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh", "not-a-tag", "extra_id_invalid"),
    ],
)
async def test_a_bad_address_is_refused_with_its_reason_and_changes_nothing(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    currency: str,
    address: str,
    extra_id: str,
    code: str,
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    await set_refund(runtime, refund_id, currency=currency)
    token = claim_token(refund_id, order_id)
    answer = await claim(client, token, address, extra_id, **JSON)
    assert answer.status_code == 422
    assert answer.json()["error"] == code
    page = await claim(client, token, address, extra_id)
    assert page.status_code == 422
    assert_private_page(page)
    assert f"({code})" in page.text
    assert "<form" in page.text
    await unchanged(runtime, order_id)


async def test_what_the_customer_typed_is_shown_back_escaped(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    page = await claim(client, claim_token(refund_id, order_id), '"><script>alert(1)</script>')
    assert page.status_code == 422
    assert "<script>" not in page.text
    assert "&#34;&gt;&lt;script&gt;" in page.text  # Jinja2's autoescape writes " as &#34;


async def test_a_currency_with_a_memo_asks_for_it_and_stores_it(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    await set_refund(runtime, refund_id, currency="xrp")
    token = claim_token(refund_id, order_id)
    shown = await client.get("/refunds/claim", params={"token": token})
    assert "Destination tag (optional)" in shown.text
    answer = await claim(client, token, "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh", "12345", **JSON)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "claimed"
    [refund] = await refund_rows(runtime, order_id)
    assert refund["payout_extra_id"] == "12345"


async def test_a_forged_link_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    stranger = ClaimTokenSigner("c1", load_private_key(generate_key_pair()[0]), timedelta(days=1))
    forged = stranger.issue(refund_id, UUID(order_id))
    for token in (forged, "not-a-token", ""):
        answer = await claim(client, token, TRON_ADDRESS, **JSON)
        assert answer.status_code == 401, token
        assert answer.json()["error"] in ("token_invalid", "token_missing")
        page = await client.get("/refunds/claim", params={"token": token})
        assert page.status_code == 401
        assert_private_page(page)
        assert "not valid" in page.text
    # A genuine token for another order's refund names nothing of ours.
    other = claim_token(refund_id, "00000000-0000-0000-0000-000000000001")
    assert (await claim(client, other, TRON_ADDRESS, **JSON)).status_code == 401
    await unchanged(runtime, order_id)


async def test_an_expired_link_offers_a_new_one_which_is_asked_of_delivery(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    expired = claim_token(
        refund_id, order_id, ttl=timedelta(hours=1), issued=datetime.now(UTC) - timedelta(days=2)
    )
    page = await client.get("/refunds/claim", params={"token": expired})
    assert page.status_code == 410
    assert_private_page(page)
    assert 'action="/refunds/claim/new-link"' in page.text
    refused = await claim(client, expired, TRON_ADDRESS, **JSON)
    assert (refused.status_code, refused.json()["error"]) == (410, "token_expired")
    await unchanged(runtime, order_id)

    asked = await client.post("/refunds/claim/new-link", data={"token": expired})
    assert asked.status_code == 202
    assert "new link is on its way" in asked.text
    [request] = await emitted(runtime, order_id, "refund.claim_link_requested")
    assert (request["refund_id"], request["customer_email"]) == (refund_id, "buyer@example.com")


async def test_new_links_are_rate_limited_per_refund(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    expired = claim_token(
        refund_id, order_id, ttl=timedelta(hours=1), issued=datetime.now(UTC) - timedelta(days=2)
    )
    answers = [
        await client.post("/refunds/claim/new-link", data={"token": expired}, headers=JSON)
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[-1].json()["error"] == "rate_limited"
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert len(await emitted(runtime, order_id, "refund.claim_link_requested")) == 3


async def test_claims_are_rate_limited_and_a_refused_claim_still_counts(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    token = claim_token(refund_id, order_id)
    answers = [await claim(client, token, "bad address", **JSON) for _ in range(11)]
    assert [a.status_code for a in answers] == [422] * 10 + [429]
    # Even a good address waits until the window ends.
    blocked = await claim(client, token, TRON_ADDRESS)
    assert blocked.status_code == 429
    assert_private_page(blocked)
    assert "Too many tries" in blocked.text
    await unchanged(runtime, order_id)


async def test_a_refund_no_longer_due_says_where_it_stands(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    await set_refund(runtime, refund_id, status="canceled")
    token = claim_token(refund_id, order_id)
    page = await client.get("/refunds/claim", params={"token": token})
    assert page.status_code == 200
    assert "fulfilled after all" in page.text
    assert "<form" not in page.text
    refused = await claim(client, token, TRON_ADDRESS, **JSON)
    assert (refused.status_code, refused.json()["error"]) == (409, "refund_closed")
    shown = await client.get("/refunds/claim", params={"token": token}, headers=JSON)
    assert shown.json()["status"] == "canceled"


async def test_neither_the_address_nor_the_token_is_logged(
    client: httpx.AsyncClient, runtime: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    order_id, refund_id = await made_due(runtime, client)
    token = claim_token(refund_id, order_id)
    with caplog.at_level(logging.DEBUG):
        await claim(client, token, TRON_ADDRESS[:-1] + "m")
        answer = await claim(client, token, TRON_ADDRESS)
        assert answer.status_code == 200
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "refund claimed" in logged
    assert TRON_ADDRESS[:6] in logged
    assert TRON_ADDRESS[:10] not in logged
    assert token not in logged
