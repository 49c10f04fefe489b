"""refund.status_changed and refund.claim_link_requested on the real bus, through the
inbox: one email per refund and event kind whatever is duplicated, a claim link that
payments can verify with delivery's public key and that expires, and nothing else on
the bus (delivery.completed / failed are about the keys email only)."""

import asyncio
from datetime import timedelta

import pytest
from delivery_support import (
    CLAIM_URL,
    CLAIM_VERIFIER,
    GRACE,
    TEXT_KEY,
    Running,
    StartDelivery,
    bus_spy,
    claim_token,
    email_text,
    keys_delivered,
    publish,
    refund_changed,
    until_handled,
)
from sqlalchemy import func, select, update

from bitloot_contracts.events import RefundClaimLinkRequested
from bitloot_delivery.adapters.orm import emails
from bitloot_runtime.tokens import InvalidToken
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.smtp import SmtpServer


async def email_rows(delivery: Running) -> list[tuple[str, str, int | None]]:
    async with delivery.runtime.engine.connect() as connection:
        query = select(emails.c.kind, emails.c.status, emails.c.refund_id).order_by(emails.c.id)
        return [(kind, status, refund) for kind, status, refund in await connection.execute(query)]


def claim_requested(event_order: object, refund_id: int = 1) -> RefundClaimLinkRequested:
    return RefundClaimLinkRequested.model_validate(
        {"order_id": event_order, "refund_id": refund_id, "customer_email": "buyer@example.com"}
    )


async def test_a_due_refund_gets_one_email_with_a_claim_link_payments_can_verify(
    delivery: Running, bus_prefix: BusNamespace, smtp_inbox: SmtpServer
) -> None:
    event = refund_changed(refund_id=41)
    async with bus_spy(delivery, bus_prefix) as spy:
        await publish(delivery.runtime, event)
        [received] = await smtp_inbox.wait_for(1)
        messages = await spy.collect(expected=2, timeout=GRACE)
    assert received.recipients == ("buyer@example.com",)
    body = " ".join(email_text(received.message).split())
    assert f"We owe you 0.00123 BTC for order {event.order_id}." in body
    assert f"{CLAIM_URL}?token=" in body
    grant = CLAIM_VERIFIER.verify(claim_token(received.message))
    assert (grant.refund_id, grant.order_id) == (41, event.order_id)
    assert [m.routing_key for m in messages] == ["refund.status_changed"]
    assert await email_rows(delivery) == [("refund_due", "sent", 41)]


# Each refund email's own unique index, with the inbox before it.
@pytest.mark.parametrize(("status", "kind"), [("due", "refund_due"), ("sent", "refund_sent")])
async def test_the_same_event_twice_and_a_second_one_for_the_refund_send_one_email(
    delivery: Running, smtp_inbox: SmtpServer, status: str, kind: str
) -> None:
    event = refund_changed(refund_id=42, status=status)
    await publish(delivery.runtime, event)
    await smtp_inbox.wait_for(1)
    await publish(delivery.runtime, event)
    again = refund_changed(event.order_id, refund_id=42, status=status)  # a new event id
    await publish(delivery.runtime, again)
    await until_handled(delivery, again, GRACE)
    assert len(smtp_inbox.messages) == 1
    assert await email_rows(delivery) == [(kind, "sent", 42)]


async def test_a_claim_link_asked_for_twice_within_the_hour_is_sent_once(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    due = refund_changed(refund_id=45)
    await publish(delivery.runtime, due)
    await smtp_inbox.wait_for(1)
    asked, asked_again = claim_requested(due.order_id, 45), claim_requested(due.order_id, 45)
    await publish(delivery.runtime, asked)
    await publish(delivery.runtime, asked_again)
    [_, fresh] = await smtp_inbox.wait_for(2)
    await until_handled(delivery, asked_again, GRACE)
    assert len(smtp_inbox.messages) == 2
    assert "0.00123 BTC" in email_text(fresh.message)
    assert CLAIM_VERIFIER.verify(claim_token(fresh.message)).refund_id == 45
    # An hour later, a new request is honoured.
    async with delivery.runtime.engine.begin() as connection:
        await connection.execute(
            update(emails)
            .where(emails.c.kind == "claim_link")
            .values(created_at=func.now() - timedelta(minutes=61))
        )
    await publish(delivery.runtime, claim_requested(due.order_id, 45))
    await smtp_inbox.wait_for(3)
    assert [kind for kind, _, _ in await email_rows(delivery)] == [
        "refund_due",
        "claim_link",
        "claim_link",
    ]


async def test_no_refund_email_carries_a_key(delivery: Running, smtp_inbox: SmtpServer) -> None:
    keys = keys_delivered(delivery.public_key)
    await publish(delivery.runtime, keys)
    await smtp_inbox.wait_for(1)
    await publish(delivery.runtime, refund_changed(keys.order_id, reason="keys_unrevealed"))
    [_, refund] = await smtp_inbox.wait_for(2)
    text = email_text(refund.message)
    assert TEXT_KEY not in text
    assert "/keys/" not in text
    assert "your order was refunded and its keys withdrawn" in " ".join(text.split())


async def test_a_claim_link_expires_and_then_only_names_its_refund(
    delivery_with: StartDelivery, smtp_inbox: SmtpServer
) -> None:
    event = refund_changed(refund_id=46)
    async with delivery_with(claim_link_ttl_days=3 / 86400) as short_lived_links:
        await publish(short_lived_links.runtime, event)
        [received] = await smtp_inbox.wait_for(1)
    token = claim_token(received.message)
    CLAIM_VERIFIER.verify(token)
    await asyncio.sleep(3.5)
    with pytest.raises(InvalidToken) as refused:
        CLAIM_VERIFIER.verify(token)
    assert refused.value.code == "token_expired"
    assert CLAIM_VERIFIER.verify(token, allow_expired=True).refund_id == 46
