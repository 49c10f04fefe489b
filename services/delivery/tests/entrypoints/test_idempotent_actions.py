"""The admin's actions on an order are answered once per Idempotency-Key (issue #23): a
hundred concurrent "resend email" with one key send the customer one email, a hundred
"fresh link" issue one link; on real PostgreSQL, RabbitMQ and an SMTP server."""

import asyncio
from uuid import UUID, uuid4

import httpx
from delivery_support import INTERNAL_TOKEN, Running, keys_delivered, publish

from bitloot_testing.smtp import SmtpServer

CONCURRENT = 100
# Long enough for a second email, had one been queued, to reach the SMTP server.
SETTLE_SECONDS = 3.0


def client(delivery: Running) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=delivery.app),
        base_url="http://test",
        headers={"authorization": f"Bearer {INTERNAL_TOKEN}", "x-bitloot-actor": "alice"},
    )


async def delivered(delivery: Running, smtp_inbox: SmtpServer) -> UUID:
    event = keys_delivered(delivery.public_key)
    await publish(delivery.runtime, event)
    await smtp_inbox.wait_for(1)
    return event.order_id


async def test_a_hundred_concurrent_resends_with_one_key_send_one_email(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id = await delivered(delivery, smtp_inbox)
    key = {"idempotency-key": str(uuid4())}
    path = f"/internal/orders/{order_id}/emails"
    async with client(delivery) as http:
        answers = await asyncio.gather(*(http.post(path, headers=key) for _ in range(CONCURRENT)))
        await smtp_inbox.wait_for(2)
        await asyncio.sleep(SETTLE_SECONDS)
        log = (await http.get(path)).json()["emails"]
    assert {(a.status_code, a.content) for a in answers} == {(202, answers[0].content)}
    assert len(smtp_inbox.messages) == 2
    assert [e["kind"] for e in log] == ["delivery", "resend"]
    assert answers[0].json()["email_id"] == log[1]["id"]


async def test_a_new_key_is_a_new_resend(delivery: Running, smtp_inbox: SmtpServer) -> None:
    order_id = await delivered(delivery, smtp_inbox)
    path = f"/internal/orders/{order_id}/emails"
    async with client(delivery) as http:
        for _ in range(2):
            answer = await http.post(path, headers={"idempotency-key": str(uuid4())})
            assert answer.status_code == 202
    await smtp_inbox.wait_for(3)


async def test_a_hundred_concurrent_fresh_links_with_one_key_issue_one_link(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id = await delivered(delivery, smtp_inbox)
    key = {"idempotency-key": str(uuid4())}
    async with client(delivery) as http:
        path = f"/internal/orders/{order_id}/link"
        answers = await asyncio.gather(*(http.post(path, headers=key) for _ in range(CONCURRENT)))
        audit = (await http.get(f"/internal/orders/{order_id}/audit")).json()["items"]
    assert {(a.status_code, a.content) for a in answers} == {(201, answers[0].content)}
    assert [i["action"] for i in audit] == ["link_issued"]
