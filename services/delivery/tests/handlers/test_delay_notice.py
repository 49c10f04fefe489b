"""order.delayed on the real bus: the customer gets one notice, the logs name the order
only, and the keys email (and delivery.completed) still comes with the keys. What a notice
says is tested in domain/test_notices.py, when one is queued in test_rules.py."""

import json
import logging
from datetime import date

import pytest
from delivery_support import (
    GRACE,
    TEXT_KEY,
    Running,
    bus_spy,
    email_text,
    keys_delivered,
    link_path,
    order_delayed,
    publish,
    until_handled,
)
from sqlalchemy import select

from bitloot_delivery.adapters.orm import emails
from bitloot_runtime.logging import RedactingFilter
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.smtp import SmtpServer


async def email_rows(delivery: Running) -> list[tuple[str, str]]:
    async with delivery.runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(emails.c.kind, emails.c.status).order_by(emails.c.id)
        )
        return [(kind, status) for kind, status in rows]


async def email_rows_are(delivery: Running, expected: list[tuple[str, str]]) -> bool:
    return await email_rows(delivery) == expected


async def test_a_slow_order_is_told_it_is_delayed_and_the_logs_name_the_order_only(
    delivery: Running, smtp_inbox: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RedactingFilter())  # binds the log context, as in production
    event = order_delayed(is_preorder=False)
    await publish(delivery.runtime, event)
    [received] = await smtp_inbox.wait_for(1)
    assert await eventually(lambda: email_rows_are(delivery, [("delayed", "sent")]))
    logged = [r for r in caplog.records if r.name.startswith("bitloot_delivery")]
    assert {r.getMessage() for r in logged} >= {"delay notice queued", "email sent"}
    assert all(r.__dict__.get("order_id") == str(event.order_id) for r in logged)
    assert not any("buyer@example.com" in str(r.__dict__) for r in logged)
    assert received.recipients == ("buyer@example.com",)


async def test_the_same_event_twice_and_a_second_event_send_one_notice(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    event = order_delayed(is_preorder=True, release_date=date(2026, 12, 24))
    await publish(delivery.runtime, event)
    await smtp_inbox.wait_for(1)
    await publish(delivery.runtime, event)
    later = order_delayed(event.order_id, is_preorder=True, release_date=date(2027, 1, 15))
    await publish(delivery.runtime, later)
    await until_handled(delivery, later, GRACE)
    assert len(smtp_inbox.messages) == 1
    assert "24 December 2026" in smtp_inbox.messages[0].message["Subject"]
    assert await email_rows(delivery) == [("delayed", "sent")]


async def test_keys_after_a_notice_still_get_the_keys_email_and_complete_the_delivery(
    delivery: Running, bus_prefix: BusNamespace, smtp_inbox: SmtpServer
) -> None:
    delayed = order_delayed(is_preorder=False)
    async with bus_spy(delivery, bus_prefix) as spy:
        await publish(delivery.runtime, delayed)
        await smtp_inbox.wait_for(1)
        await publish(delivery.runtime, keys_delivered(delivery.public_key, delayed.order_id))
        notice, keys = await smtp_inbox.wait_for(2)
        messages = await spy.collect(expected=3)
    assert notice.message["Subject"] == "Your BitLoot order is delayed"
    assert keys.message["Subject"] == "Your BitLoot keys are ready"
    assert link_path(keys.message).startswith("/keys/")
    assert TEXT_KEY not in email_text(notice.message) + email_text(keys.message)
    completed = [m for m in messages if m.routing_key == "delivery.completed"]
    assert len(completed) == 1
    assert json.loads(completed[0].body)["email_sent"] is True
    assert await email_rows(delivery) == [("delayed", "sent"), ("delivery", "sent")]
