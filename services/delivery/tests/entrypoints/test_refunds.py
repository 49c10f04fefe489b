"""Delivery's internal refund actions and what the customer sees after them: revoking
unrevealed keys (refused once revealed, or twice), the reveal and fresh-link pages of a
revoked order, and an admin's resend of a notice; the email log shows them all."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from delivery_support import (
    CLAIM_VERIFIER,
    INTERNAL_TOKEN,
    ORDER_TOKENS,
    Running,
    bus_spy,
    claim_token,
    client,
    delivered,
    email_text,
    link_path,
    order_delayed,
    publish,
    refund_changed,
)
from sqlalchemy import select

from bitloot_delivery.adapters.orm import emails
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.smtp import SmtpServer

REFUNDED = "This order was refunded; its keys were withdrawn."


async def revoke(http: httpx.AsyncClient, order_id: UUID, **body: Any) -> httpx.Response:
    document = {"actor": "admin:ana", "note": "Kinguin refunded the unclaimed key", **body}
    return await http.post(f"/internal/orders/{order_id}/revoke", json=document)


async def resend(http: httpx.AsyncClient, order_id: UUID, kind: str) -> httpx.Response:
    body = {"kind": kind, "actor": "admin:ana"}
    return await http.post(f"/internal/orders/{order_id}/notices/resend", json=body)


async def stored_and_emailed(delivery: Running, smtp_inbox: SmtpServer) -> tuple[UUID, str]:
    """An order whose keys are stored and whose keys email went out; its reveal path."""
    order_id, email = await delivered(delivery, smtp_inbox)
    return order_id, link_path(email)


async def test_unrevealed_keys_are_revoked_once_and_keys_revoked_is_emitted(
    delivery: Running, bus_prefix: BusNamespace, smtp_inbox: SmtpServer
) -> None:
    order_id, path = await stored_and_emailed(delivery, smtp_inbox)
    async with (
        client(delivery, INTERNAL_TOKEN) as http,
        bus_spy(delivery, bus_prefix) as spy,
    ):
        answer = await revoke(http, order_id)
        again = await revoke(http, order_id)
        messages = await spy.collect(expected=1)
        page = await http.get(path)
        as_json = await http.get(path, headers={"accept": "application/json"})
        fresh = await http.post(f"{path}/fresh-link")
        by_token = await http.post(
            f"/orders/{order_id}/link",
            headers={"authorization": f"Bearer {ORDER_TOKENS.issue(order_id)}"},
        )
        summary = (await http.get(f"/internal/deliveries/{order_id}")).json()
        audit = (await http.get(f"/internal/orders/{order_id}/audit")).json()["items"]
    assert answer.status_code == 200
    assert answer.json()["order_id"] == str(order_id)
    assert answer.json()["key_count"] == 2
    assert answer.json()["revoked_at"] == summary["revoked_at"]
    assert (again.status_code, again.json()["error"]) == (409, "already_revoked")
    [revoked] = [json.loads(m.body) for m in messages if m.routing_key == "keys.revoked"]
    assert (revoked["order_id"], revoked["key_count"]) == (str(order_id), 2)
    assert revoked["revoked_by"] == "admin:ana"
    assert revoked["note"] == "Kinguin refunded the unclaimed key"
    assert page.status_code == 410
    assert page.headers["cache-control"] == "no-store"
    assert REFUNDED in page.text
    assert (as_json.status_code, as_json.json()["error"]) == (410, "order_refunded")
    assert as_json.json()["detail"] == REFUNDED
    assert fresh.status_code == 410
    assert REFUNDED in fresh.text
    assert (by_token.status_code, by_token.json()["error"]) == (410, "order_refunded")
    assert summary["revoked_by"] == "admin:ana"
    assert [item["action"] for item in audit] == ["revoked"]
    assert len(smtp_inbox.messages) == 1  # no fresh link went out


async def test_revealed_keys_are_not_revoked_and_nothing_changes(
    delivery: Running, bus_prefix: BusNamespace, smtp_inbox: SmtpServer
) -> None:
    order_id, path = await stored_and_emailed(delivery, smtp_inbox)
    async with client(delivery, INTERNAL_TOKEN) as http:
        assert (await http.get(path)).status_code == 200
        async with bus_spy(delivery, bus_prefix) as spy:
            refused = await revoke(http, order_id)
            messages = await spy.collect(expected=1, timeout=1.0)
        missing = await revoke(http, uuid4())
        bad = await revoke(http, order_id, actor="")
        summary = (await http.get(f"/internal/deliveries/{order_id}")).json()
        still = await http.get(path)
    assert (refused.status_code, refused.json()["error"]) == (409, "keys_revealed")
    assert messages == []
    assert (missing.status_code, missing.json()["error"]) == (404, "no_keys")
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_request")
    assert summary["revoked_at"] is None
    assert still.status_code == 200


async def test_a_key_email_still_waiting_is_withdrawn_by_the_revoke(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await stored_and_emailed(delivery, smtp_inbox)
    async with delivery.runtime.engine.begin() as connection:
        # A resend an admin queued that the sender has not taken yet.
        await connection.execute(
            emails.insert().values(
                order_id=order_id,
                kind="resend",
                to_address="buyer@example.com",
                next_attempt_at=datetime(2999, 1, 1, tzinfo=UTC),
            )
        )
    async with client(delivery, INTERNAL_TOKEN) as http:
        assert (await revoke(http, order_id)).status_code == 200
        log = (await http.get(f"/internal/orders/{order_id}/emails")).json()["emails"]
    assert [(e["kind"], e["status"]) for e in log] == [
        ("delivery", "sent"),
        ("resend", "withdrawn"),
    ]


async def test_an_admin_resends_a_refund_notice_with_a_new_claim_link(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    event = refund_changed(refund_id=51)
    await publish(delivery.runtime, event)
    [first] = await smtp_inbox.wait_for(1)
    async with client(delivery, INTERNAL_TOKEN) as http:
        never = await resend(http, event.order_id, "refund_sent")
        answer = await resend(http, event.order_id, "refund_due")
        [_, again] = await smtp_inbox.wait_for(2)

        async def logged_as_sent() -> bool:
            response = await http.get(f"/internal/orders/{event.order_id}/emails")
            return [e["status"] for e in response.json()["emails"]] == ["sent", "sent"]

        assert await eventually(logged_as_sent)
        log = (await http.get(f"/internal/orders/{event.order_id}/emails")).json()["emails"]
        timeline = (await http.get(f"/internal/orders/{event.order_id}/timeline")).json()
    assert (never.status_code, never.json()["error"]) == (404, "no_such_notice")
    assert answer.status_code == 202
    assert again.message["Subject"] == first.message["Subject"]
    assert email_text(again.message).count("0.00123 BTC") == email_text(first.message).count(
        "0.00123 BTC"
    )
    assert CLAIM_VERIFIER.verify(claim_token(again.message)).refund_id == 51
    original, copy = log
    assert copy["id"] == answer.json()["email_id"]
    assert (copy["kind"], copy["resend_of"], copy["requested_by"]) == (
        "refund_due",
        original["id"],
        "admin:ana",
    )
    assert copy["notice"] == original["notice"]
    assert original["notice"]["amount"] == "0.00123"
    assert original["notice"]["reason"] == "order_failed"
    assert "token" not in json.dumps(log)
    notices = [i["data"].get("notice") for i in timeline["items"]]
    assert "refund 51: 0.00123 btc (order_failed, reservation)" in notices


async def test_a_delay_notice_can_be_resent_but_a_never_sent_one_cannot(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    delayed = order_delayed()
    await publish(delivery.runtime, delayed)
    await smtp_inbox.wait_for(1)
    async with client(delivery, INTERNAL_TOKEN) as http:
        answer = await resend(http, delayed.order_id, "delayed")
        [_, again] = await smtp_inbox.wait_for(2)
        unknown = await resend(http, uuid4(), "delayed")
        wrong_kind = await resend(http, delayed.order_id, "delivery")
    assert answer.status_code == 202
    assert again.message["Subject"] == "Your BitLoot order is delayed"
    assert (unknown.status_code, unknown.json()["error"]) == (404, "no_such_notice")
    assert (wrong_kind.status_code, wrong_kind.json()["error"]) == (422, "invalid_request")
    async with delivery.runtime.engine.connect() as connection:
        rows = (await connection.execute(select(emails.c.kind, emails.c.resend_of))).all()
    assert len(rows) == 2
