"""The expired-link flow: the page offers a fresh link by email, to the order's address
only, with the same answer whether or not the order exists, rate-limited."""

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from delivery_support import LINKS, TEXT_KEY, Running, client, delivered, link_path
from sqlalchemy import select

from bitloot_delivery.adapters.orm import emails, key_events, rate_limits
from bitloot_delivery.domain.links import RevealLinks
from bitloot_testing.smtp import SmtpServer

SENT = "If this link belongs to an order, a new link is on its way"


def expired(order_id: UUID) -> str:
    return LINKS.issue(order_id, now=datetime.now(UTC) - timedelta(hours=1))


async def test_an_expired_link_offers_a_fresh_one_that_arrives_by_email_and_works(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    token = expired(order_id)
    async with client(delivery) as http:
        page = await http.get(f"/keys/{token}")
        assert page.status_code == 410
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None
        answer = await http.post(action.group(1))
        assert answer.status_code == 202
        assert SENT in answer.text
        assert answer.headers["cache-control"] == "no-store"
        [_, fresh] = await smtp_inbox.wait_for(2)
        assert fresh.message["To"] == "buyer@example.com"
        assert fresh.message["Subject"] == "A new link to your BitLoot keys"
        revealed = await http.get(link_path(fresh.message))
    assert revealed.status_code == 200
    assert TEXT_KEY in revealed.text
    async with delivery.runtime.engine.connect() as connection:
        kinds = (await connection.execute(select(emails.c.kind).order_by(emails.c.id))).scalars()
        actions = (await connection.execute(select(key_events.c.action))).scalars()
        assert list(kinds) == ["delivery", "fresh_link"]
        assert list(actions) == ["fresh_link_emailed"]


async def test_forged_and_unknown_links_get_the_same_answer_and_no_email(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    forger = RevealLinks("another-secret-that-is-at-least-32-characters", timedelta(minutes=1))
    tokens = [forger.issue(order_id), expired(uuid4()), "not-a-token"]
    async with client(delivery) as http:
        answers = [await http.post(f"/keys/{token}/fresh-link") for token in tokens]
        genuine = await http.post(f"/keys/{expired(order_id)}/fresh-link")
    assert {answer.status_code for answer in [*answers, genuine]} == {202}
    assert {answer.text for answer in [*answers, genuine]} == {genuine.text}
    await smtp_inbox.wait_for(2)
    assert len(smtp_inbox.messages) == 2  # the delivery email and the genuine request's
    async with delivery.runtime.engine.connect() as connection:
        kinds = (await connection.execute(select(emails.c.kind))).scalars().all()
    assert sorted(kinds) == ["delivery", "fresh_link"]


async def test_fresh_links_for_one_order_are_limited_with_retry_after_and_a_reason(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    path = f"/keys/{expired(order_id)}/fresh-link"
    limit = delivery.settings.fresh_links_per_order_per_hour
    answers = []
    for number in range(limit + 1):
        # A new address each time: only the per-order limit can refuse.
        async with client(delivery, ip=f"198.51.100.{number + 1}") as http:
            answers.append(await http.post(path, headers={"accept": "application/json"}))
    assert [answer.status_code for answer in answers] == [202] * limit + [429]
    refused = answers[-1]
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["fields"] == [{"limit": "fresh_link_order"}]
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["cache-control"] == "no-store"
    await smtp_inbox.wait_for(1 + limit)
    async with delivery.runtime.engine.connect() as connection:
        queued = (await connection.execute(select(emails.c.kind))).scalars().all()
    assert sorted(queued) == ["delivery"] + ["fresh_link"] * limit
    registry = delivery.runtime.metrics.registry
    for outcome, count in (("sent", limit), ("rate_limited", 1)):
        labels = {"service": "delivery", "outcome": outcome}
        assert registry.get_sample_value("bitloot_fresh_links_total", labels) == count


async def test_one_address_asking_for_many_orders_is_limited_and_shown_a_page(
    delivery: Running,
) -> None:
    limit = delivery.settings.fresh_links_per_ip_per_hour
    async with client(delivery) as http:
        answers = [
            await http.post(f"/keys/{expired(uuid4())}/fresh-link") for _ in range(limit + 1)
        ]
    assert [answer.status_code for answer in answers] == [202] * limit + [429]
    assert "Please wait" in answers[-1].text
    assert answers[-1].headers["retry-after"].isdigit()
    assert answers[-1].headers["content-security-policy"].startswith("default-src 'none'")
    async with delivery.runtime.engine.connect() as connection:
        hits = (await connection.execute(select(rate_limits.c.bucket, rate_limits.c.hits))).all()
    assert ("fresh_link_ip:203.0.113.7", limit + 1) in [tuple(row) for row in hits]
