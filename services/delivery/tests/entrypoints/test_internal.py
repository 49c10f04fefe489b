"""Delivery's internal API: what the admin sees of an order's delivery, and its timeline;
the admin's actions once per Idempotency-Key (a hundred concurrent resends, one email)."""

import asyncio
from datetime import date
from uuid import uuid4

import httpx
import pytest
from delivery_support import (
    INTERNAL_TOKEN,
    TEXT_KEY,
    Running,
    client,
    delivered,
    keys_emailed,
    link_path,
    order_delayed,
    publish,
)
from sqlalchemy import select

from bitloot_runtime.tables import idempotency_keys
from bitloot_testing.bus import eventually
from bitloot_testing.smtp import SmtpServer

# Once per Idempotency-Key (issue #23): a hundred concurrent requests with one key.
CONCURRENT = 100
# Long enough for a second email, had one been queued, to reach the SMTP server.
SETTLE_SECONDS = 3.0


async def test_a_delivery_and_its_timeline_show_storage_email_and_reveal(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    event, email = await keys_emailed(delivery, smtp_inbox)
    async with client(delivery, INTERNAL_TOKEN) as http:
        # The sender records the email as sent just after the server took it: a customer
        # quicker than that would put the reveal before the sending in the timeline.
        async def recorded() -> bool:
            answer = await http.get(f"/internal/deliveries/{event.order_id}")
            return answer.status_code == 200 and answer.json()["emailed_at"] is not None

        assert await eventually(recorded, timeout=10)
        await http.get(link_path(email.message))
        summary = await http.get(f"/internal/deliveries/{event.order_id}")
        timeline = await http.get(f"/internal/orders/{event.order_id}/timeline")
    assert summary.status_code == 200
    body = summary.json()
    assert body["order_id"] == str(event.order_id)
    assert body["key_count"] == 2
    assert body["reveal_count"] == 1
    assert body["emailed_at"] is not None
    assert body["viewed_at"] is not None
    items = timeline.json()["items"]
    assert [item["kind"] for item in items] == [
        "keys_stored",
        "email_queued",
        "email_sent",
        "keys_revealed",
    ]
    assert items[0]["data"] == {"key_count": 2}
    assert TEXT_KEY not in timeline.text
    assert [item["at"] for item in items] == sorted(item["at"] for item in items)


async def test_an_unknown_order_is_404_and_has_an_empty_timeline(delivery: Running) -> None:
    order_id = uuid4()
    async with client(delivery, INTERNAL_TOKEN) as http:
        summary = await http.get(f"/internal/deliveries/{order_id}")
        timeline = await http.get(f"/internal/orders/{order_id}/timeline")
    assert summary.status_code == 404
    assert summary.json()["error"] == "delivery_not_found"
    assert timeline.json() == {"order_id": str(order_id), "items": []}


async def test_the_internal_api_needs_the_service_token(delivery: Running) -> None:
    async with client(delivery, "not-the-internal-token") as http:
        response = await http.get(f"/internal/deliveries/{uuid4()}")
    assert response.status_code == 401


async def test_an_admin_link_and_a_resend_are_audited_and_the_email_log_shows_both(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    actor = {"x-bitloot-actor": "alice"}
    async with client(delivery, INTERNAL_TOKEN) as http:
        link = await http.post(f"/internal/orders/{order_id}/link", headers=actor)
        resend = await http.post(f"/internal/orders/{order_id}/emails", headers=actor)
        await smtp_inbox.wait_for(2)
        await http.get(link.json()["link"].removeprefix(delivery.settings.public_url))
        log = await http.get(f"/internal/orders/{order_id}/emails")
        audit = await http.get(f"/internal/orders/{order_id}/audit")
    assert link.status_code == 201
    assert link.headers["cache-control"] == "no-store"
    assert resend.status_code == 202
    entries = log.json()["emails"]
    assert [(e["kind"], e["attempts"]) for e in entries] == [("delivery", 1), ("resend", 1)]
    assert all(e["message_id"].endswith("@bitloot.test>") for e in entries)
    assert {e["status"] for e in entries} == {"sent"}
    assert {(e["smtp_stage"], e["recovered_attempts"], e["doubtful_resends"]) for e in entries} == {
        ("data", 0, 0)
    }
    assert [(i["action"], i["actor"]) for i in audit.json()["items"]] == [
        ("link_issued", "admin:alice"),
        ("link_resent", "admin:alice"),
        ("revealed", "customer"),
    ]
    assert TEXT_KEY not in log.text + audit.text


async def test_a_presigned_url_fetches_the_ciphertext_only_and_is_audited(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    async with client(delivery, INTERNAL_TOKEN) as http:
        answer = await http.get(f"/internal/orders/{order_id}/object-url?ttl_seconds=600")
        audit = await http.get(f"/internal/orders/{order_id}/audit")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    async with httpx.AsyncClient() as anonymous:
        fetched = await anonymous.get(answer.json()["url"])
    assert fetched.status_code == 200
    assert TEXT_KEY.encode() not in fetched.content
    assert len(fetched.content) > len(TEXT_KEY)
    [event] = audit.json()["items"]
    assert (event["action"], event["detail"]) == ("object_url_issued", "ttl_seconds=600")


@pytest.mark.parametrize("ttl", ["0", "604801", "soon"])
async def test_a_presigned_url_longer_than_seven_days_is_refused(
    delivery: Running, smtp_inbox: SmtpServer, ttl: str
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    async with client(delivery, INTERNAL_TOKEN) as http:
        answer = await http.get(f"/internal/orders/{order_id}/object-url?ttl_seconds={ttl}")
        audit = await http.get(f"/internal/orders/{order_id}/audit")
    assert (answer.status_code, answer.json()["error"]) == (422, "invalid_ttl")
    assert audit.json()["items"] == []


async def test_admin_actions_on_an_order_without_keys_are_404(delivery: Running) -> None:
    order_id = uuid4()
    async with client(delivery, INTERNAL_TOKEN) as http:
        answers = [
            await http.post(f"/internal/orders/{order_id}/link"),
            await http.post(f"/internal/orders/{order_id}/emails"),
            await http.get(f"/internal/orders/{order_id}/object-url"),
        ]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [
        (404, "delivery_not_found")
    ] * 3


async def test_a_delay_notice_shows_in_the_email_log_and_timeline_before_any_key(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    event = order_delayed(is_preorder=True, release_date=date(2026, 12, 24))
    await publish(delivery.runtime, event)
    await smtp_inbox.wait_for(1)
    async with client(delivery, INTERNAL_TOKEN) as http:

        async def recorded() -> bool:
            log = await http.get(f"/internal/orders/{event.order_id}/emails")
            return [e["status"] for e in log.json()["emails"]] == ["sent"]

        assert await eventually(recorded)
        log = await http.get(f"/internal/orders/{event.order_id}/emails")
        timeline = await http.get(f"/internal/orders/{event.order_id}/timeline")
        summary = await http.get(f"/internal/deliveries/{event.order_id}")
        resend = await http.post(f"/internal/orders/{event.order_id}/emails")
    [entry] = log.json()["emails"]
    assert (entry["kind"], entry["is_preorder"], entry["release_date"]) == (
        "delayed",
        True,
        "2026-12-24",
    )
    items = timeline.json()["items"]
    assert [item["kind"] for item in items] == ["email_queued", "email_sent"]
    assert items[0]["data"]["notice"] == "preorder, release 2026-12-24"
    assert items[0]["summary"] == "delayed email queued"
    # A notice is not a delivery: nothing to summarise or resend until the keys come.
    assert summary.status_code == 404
    assert resend.status_code == 404
    assert "buyer@example.com" not in log.text + timeline.text


async def test_a_hundred_concurrent_resends_with_one_key_send_one_email(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    key = {"idempotency-key": str(uuid4())}
    path = f"/internal/orders/{order_id}/emails"
    async with client(delivery, INTERNAL_TOKEN) as http:
        http.headers["x-bitloot-actor"] = "alice"
        answers = await asyncio.gather(*(http.post(path, headers=key) for _ in range(CONCURRENT)))
        await smtp_inbox.wait_for(2)
        await asyncio.sleep(SETTLE_SECONDS)
        log = (await http.get(path)).json()["emails"]
    assert {(a.status_code, a.content) for a in answers} == {(202, answers[0].content)}
    assert len(smtp_inbox.messages) == 2
    assert [e["kind"] for e in log] == ["delivery", "resend"]
    assert answers[0].json()["email_id"] == log[1]["id"]


async def test_a_new_key_is_a_new_resend(delivery: Running, smtp_inbox: SmtpServer) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    path = f"/internal/orders/{order_id}/emails"
    async with client(delivery, INTERNAL_TOKEN) as http:
        http.headers["x-bitloot-actor"] = "alice"
        for _ in range(2):
            answer = await http.post(path, headers={"idempotency-key": str(uuid4())})
            assert answer.status_code == 202
    await smtp_inbox.wait_for(3)


async def test_a_hundred_concurrent_fresh_links_with_one_key_issue_one_link(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    key = {"idempotency-key": str(uuid4())}
    async with client(delivery, INTERNAL_TOKEN) as http:
        http.headers["x-bitloot-actor"] = "alice"
        path = f"/internal/orders/{order_id}/link"
        answers = await asyncio.gather(*(http.post(path, headers=key) for _ in range(CONCURRENT)))
        audit = (await http.get(f"/internal/orders/{order_id}/audit")).json()["items"]
    # The link is a secret (no-store): given once, to the first request only, never kept.
    [issued] = [a for a in answers if "link" in a.json()]
    assert issued.headers["cache-control"] == "no-store"
    repeats = [a for a in answers if a is not issued]
    assert {(a.status_code, a.json()["error"]) for a in repeats} == {(201, "answer_not_kept")}
    assert all(a.headers["cache-control"] == "no-store" for a in repeats)
    secret = issued.json()["link"].rsplit("/", 1)[1].encode()
    async with delivery.runtime.sessionmaker() as session:
        kept = (await session.execute(select(idempotency_keys.c.body))).scalars().all()
    assert not any(secret in (body or b"") for body in kept)
    assert [i["action"] for i in audit] == ["link_issued"]
