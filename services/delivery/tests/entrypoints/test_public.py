"""POST /orders/{id}/link: the order token's holder gets a fresh link in the answer."""

from uuid import uuid4

import httpx
import pytest
from delivery_support import ORDER_TOKENS, TEXT_KEY, Running, client, delivered
from sqlalchemy import select

from bitloot_delivery.adapters.orm import emails, key_events
from bitloot_delivery.bootstrap import build
from bitloot_delivery.settings import Settings
from bitloot_testing.smtp import SmtpServer


async def test_the_order_token_gets_a_working_link_in_the_answer_and_no_email(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    async with client(delivery, ORDER_TOKENS.issue(order_id)) as http:
        answer = await http.post(f"/orders/{order_id}/link")
        assert answer.status_code == 201
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "no-referrer"
        body = answer.json()
        assert body["order_id"] == str(order_id)
        assert body["link"].startswith(f"{delivery.settings.public_url}/keys/")
        assert body["expires_at"]
        page = await http.get(body["link"].removeprefix(delivery.settings.public_url))
    assert TEXT_KEY in page.text
    async with delivery.runtime.engine.connect() as connection:
        assert len((await connection.execute(select(emails))).all()) == 1
        audit = (await connection.execute(select(key_events))).mappings().one()
    assert (audit["action"], audit["actor"], audit["ip"]) == (
        "link_issued",
        "customer",
        "203.0.113.7",
    )


@pytest.mark.parametrize(
    ("token_for", "status", "code"),
    [("nobody", 401, "token_missing"), ("other", 403, "token_wrong_order")],
)
async def test_without_the_orders_own_token_no_link_is_issued(
    delivery: Running, smtp_inbox: SmtpServer, token_for: str, status: int, code: str
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    token = ORDER_TOKENS.issue(uuid4()) if token_for == "other" else None
    async with client(delivery, token) as http:
        answer = await http.post(f"/orders/{order_id}/link")
    assert (answer.status_code, answer.json()["error"]) == (status, code)
    assert "link" not in answer.json()
    async with delivery.runtime.engine.connect() as connection:
        assert (await connection.execute(select(key_events))).all() == []


async def test_without_order_token_keys_configured_the_endpoint_says_so(
    delivery: Running,
) -> None:
    settings = Settings.model_validate(
        {**delivery.settings.model_dump(), "order_token_public_keys": None}
    )
    _, app = build(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.post(f"/orders/{uuid4()}/link")
    assert (answer.status_code, answer.json()["error"]) == (503, "order_tokens_not_configured")
