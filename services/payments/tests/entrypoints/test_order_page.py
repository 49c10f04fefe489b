"""The customer's order page: ``GET /orders/{order_id}`` for a browser, at the link the
checkout answers, opened with the order token as the JSON is; JSON clients get what they
always got."""

import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from payments_support import ipn, new_order, send, settled
from starlette.responses import Response

from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.availability import Availability
from bitloot_payments.domain.records import Refund
from bitloot_payments.entrypoints.order_page import STAGES, OrderPages
from bitloot_payments.handlers.queries import CustomerOrder, ReadOrder
from bitloot_payments.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tokens import OrderTokenSigner, load_private_key

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"accept": "application/json"}


def text_of(page: str) -> str:
    """The page's visible words, tags dropped and spaces folded (templates included)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


def status_block(page: str) -> str:
    """The words of the page's status block (what it says before any script runs)."""
    found = re.search(r'<section id="status".*?</section>', page, re.S)
    assert found is not None, page
    return text_of(found.group(0))


def policy(headers: Mapping[str, str]) -> dict[str, str]:
    """The Content-Security-Policy's directives, by name."""
    named = (d.strip().partition(" ") for d in headers["content-security-policy"].split(";"))
    return {name: value for name, _, value in named}


def html(page: Response) -> str:
    return bytes(page.body).decode()


async def checkout(client: httpx.AsyncClient) -> dict[str, Any]:
    lines = [{"sku": "g-1", "qty": 2}, {"sku": "g-2", "qty": 1}]
    answer = await client.post("/orders", json={"email": "buyer@example.com", "lines": lines})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def test_the_link_the_checkout_answers_opens_the_order_page_in_a_browser(
    client: httpx.AsyncClient,
) -> None:
    created = await checkout(client)
    order_id, token = created["order_id"], created["order_token"]
    assert created["order_url"] == f"https://shop.bitloot.test/orders/{order_id}?token={token}"
    page = await client.get(created["order_url"], headers=BROWSER)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    words = text_of(page.text)
    assert f"Order {order_id[:8].upper()}" in words
    assert f"Order number {order_id}" in words
    # Titles from the catalog, quantities, unit prices, line amounts and the total.
    assert "Game g-1 2 12.50 USD 25.00 USD" in words
    assert "Game g-2 1 2.25 USD 2.25 USD" in words
    assert "Total 27.25 USD" in words
    assert re.search(r"Placed \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", words)
    assert status_block(page.text).startswith("Awaiting payment")
    assert f'href="{created["invoice_url"]}" rel="noreferrer noopener"' in page.text


async def test_the_page_keeps_its_token_out_of_referers_and_caches_and_runs_one_script(
    client: httpx.AsyncClient,
) -> None:
    created = await checkout(client)
    page = await client.get(created["order_url"], headers=BROWSER)
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    directives = policy(page.headers)
    [nonce] = re.findall(r"^'nonce-([^']+)'$", directives["script-src"])
    assert directives["connect-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert len(scripts) == 1
    assert f'nonce="{nonce}"' in scripts[0]
    [src] = re.findall(r'src="([^"]+)"', scripts[0])
    assert src.startswith("/orders/live.js?v=")
    script = await client.get(src)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/ws/orders/" in script.text
    again = await client.get(created["order_url"], headers=BROWSER)
    assert nonce not in again.headers["content-security-policy"]  # one per answer


async def test_json_clients_get_the_json_they_always_got(client: httpx.AsyncClient) -> None:
    created = await checkout(client)
    url, token = f"/orders/{created['order_id']}", created["order_token"]
    plain = await client.get(url, params={"token": token})
    asked = await client.get(url, params={"token": token}, headers=JSON)
    # A browser-like Accept that names JSON too is an API client.
    both = await client.get(
        url, params={"token": token}, headers={"accept": "text/html, application/json"}
    )
    bearer = await client.get(url, headers={"authorization": f"Bearer {token}", **JSON})
    for answer in (plain, asked, both, bearer):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
    assert plain.json() == asked.json() == both.json() == bearer.json()
    assert set(asked.json()) == {
        "order_id",
        "status",
        "email",
        "total",
        "currency",
        "invoice_url",
        "lines",
        "payment_status",
        "fulfilment_state",
        "customer_status",
    }


@pytest.mark.parametrize(
    ("token_of", "status", "code", "heading"),
    [
        (lambda _created, _other: None, 401, "token_missing", "This link does not open the order"),
        (lambda _c, _o: "not.a.jwt", 401, "token_invalid", "This link does not open the order"),
        (lambda _c, other: other["order_token"], 403, "token_wrong_order", "opens another order"),
    ],
)
async def test_a_refused_token_is_refused_as_today_with_a_page_for_a_browser(
    client: httpx.AsyncClient, token_of: Any, status: int, code: str, heading: str
) -> None:
    created, other = await checkout(client), await checkout(client)
    params = {} if (token := token_of(created, other)) is None else {"token": token}
    url = f"/orders/{created['order_id']}"
    answer = await client.get(url, params=params, headers=JSON)
    assert (answer.status_code, answer.json()["error"]) == (status, code)
    page = await client.get(url, params=params, headers=BROWSER)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert heading in text_of(page.text)
    assert "buyer@example.com" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in policy(page.headers)


async def test_an_unknown_order_is_404_as_today_with_a_page_for_a_browser(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    unknown = uuid4()
    key = load_private_key(settings.order_token_private_key.get_secret_value())
    token = OrderTokenSigner(settings.order_token_key_id, key, timedelta(hours=1)).issue(unknown)
    url = f"/orders/{unknown}"
    answer = await client.get(url, params={"token": token}, headers=JSON)
    assert (answer.status_code, answer.json()["error"]) == (404, "order_not_found")
    page = await client.get(url, params={"token": token}, headers=BROWSER)
    assert page.status_code == 404
    assert "Order not found" in text_of(page.text)


async def test_a_paid_order_says_payment_received(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await new_order(client)
    assert (await send(client, ipn(order_id, "finished"))).status_code == 200
    await settled(runtime)
    found = await ReadOrder(runtime.units_of_work(PaymentsUnitOfWork))(UUID(order_id))
    assert found is not None
    assert found.customer_status == "payment_received"
    page = OrderPages(None, None).order(found)
    assert status_block(html(page)).startswith("Payment received")


async def customer_order(client: httpx.AsyncClient, runtime: ServiceRuntime) -> CustomerOrder:
    """A new order of two of `g-1`, as its customer's page shows it."""
    order_id = UUID(await new_order(client))
    found = await ReadOrder(runtime.units_of_work(PaymentsUnitOfWork))(order_id)
    assert found is not None
    return found


def _refund(order_id: UUID, status: str, transaction_id: str | None = None) -> Refund:
    return Refund(
        order_id=order_id,
        amount=Decimal("25"),
        currency="usd",
        reason="order_failed",
        requested_by="fulfillment",
        status=status,
        transaction_id=transaction_id,
    )


def _preorder(found: CustomerOrder, release_date: str | None) -> CustomerOrder:
    known = Availability("k-g-1", 0, None, True, release_date, datetime.now(UTC))
    products = {
        sku: replace(product, availability=known) for sku, product in found.products.items()
    }
    return replace(found, products=products)


PAID: dict[str, object] = {"status": "paid", "paid_at": datetime.now(UTC)}
FAILED: dict[str, object] = {**PAID, "fulfilment_state": "failed"}
FULFILLED: dict[str, object] = {**PAID, "fulfilment_state": "fulfilled"}
# Each status the page shows: how the order stands, and the first words of its block.
STATUSES: dict[str, tuple[dict[str, object], list[str], bool, str]] = {
    "awaiting_payment": ({}, [], False, "Awaiting payment We have your order, but not"),
    "payment_received": (PAID, [], False, "Payment received Your payment has arrived"),
    "under_review": ({"status": "invoiced"}, [], True, "Being checked Something about"),
    "delivering": (
        {**PAID, "fulfilment_state": "reserving"},
        [],
        False,
        "Buying your key Your payment is in",
    ),
    "keys_ready": (
        {**FULFILLED, "key_email_confirmed": False},
        [],
        False,
        "Ready — check your email Your key is ready. We emailed you a link to it, but",
    ),
    "delivered": (
        {**FULFILLED, "key_email_confirmed": True},
        [],
        False,
        "Ready — check your email Your key is ready. We emailed you a link to reveal it.",
    ),
    "failed": (FAILED, [], False, "Failed — you will be refunded We could not get your key"),
    "not_paid": ({"status": "expired"}, [], False, "Not paid No payment arrived"),
    "refund_due": (FAILED, ["due"], False, "Refund on its way We owe you a refund of 25.00 USD"),
    "refund_claimed": (FAILED, ["claimed"], False, "Refund being sent We have your wallet address"),
    "refunded": (
        FAILED,
        ["sent"],
        False,
        "Refunded Your refund of 25.00 USD has been sent. Transaction: 0xfeed",
    ),
    "refund_failed": (FAILED, ["failed"], False, "Refund delayed Sending your refund did not work"),
    "refund_rejected": (
        FAILED,
        ["rejected"],
        False,
        "Refund declined Your refund claim was declined",
    ),
}


def test_every_status_the_page_shows_is_tested() -> None:
    assert set(STATUSES) | {"preorder", "delayed"} == set(STAGES)


@pytest.mark.parametrize("status", sorted(STATUSES))
async def test_each_status_renders_its_words_and_what_happens_next(
    client: httpx.AsyncClient, runtime: ServiceRuntime, status: str
) -> None:
    found = await customer_order(client, runtime)
    changes, refunds, under_review, words = STATUSES[status]
    found = replace(
        found,
        order=replace(found.order, **changes),  # type: ignore[arg-type]
        refunds=[_refund(found.order.order_id, refund, "0xfeed") for refund in refunds],
        under_review=under_review,
    )
    page = html(OrderPages(None, None).order(found))
    assert f'data-status="{status}"' in page
    assert status_block(page).startswith(words)
    # The script swaps in the same words: every status has its template.
    for key in STAGES:
        assert f'<template id="status-{key}"' in page


@pytest.mark.parametrize(
    ("release_date", "words"),
    [("2027-03-01", "comes out on 2027-03-01"), (None, "when the publisher releases it")],
)
async def test_a_preorder_being_bought_says_when_it_is_released(
    client: httpx.AsyncClient, runtime: ServiceRuntime, release_date: str | None, words: str
) -> None:
    found = await customer_order(client, runtime)
    paid = replace(
        found.order, status="paid", paid_at=datetime.now(UTC), fulfilment_state="reserving"
    )
    page = OrderPages(None, None).order(_preorder(replace(found, order=paid), release_date))
    block = status_block(html(page))
    assert block.startswith("Pre-order: waiting for release")
    assert words in block


async def test_a_live_status_url_is_where_the_script_connects_and_all_it_may(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    found = await customer_order(client, runtime)
    page = OrderPages("wss://live.bitloot.test/base", "wss://live.bitloot.test").order(found)
    assert 'data-live="wss://live.bitloot.test/base"' in html(page)
    assert policy(page.headers)["connect-src"] == "wss://live.bitloot.test"


async def test_neither_the_token_nor_the_page_reach_a_log(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    created = await checkout(client)
    with caplog.at_level(logging.DEBUG):
        page = await client.get(created["order_url"], headers=BROWSER)
        assert page.status_code == 200
        wrong = f"/orders/{uuid4()}?token={created['order_token']}"
        assert (await client.get(wrong, headers=BROWSER)).status_code == 403
    # The test's own client logs the URLs it asks for; the service never asks for a page.
    records = [
        record
        for record in caplog.records
        if not (record.name == "httpx" and record.getMessage().startswith("HTTP Request: GET"))
    ]
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in records)
    assert "order view refused" in logged
    assert created["order_token"] not in logged
    assert created["order_token"].split(".")[2] not in logged
