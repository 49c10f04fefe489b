"""The reveal page: the link from the email shows exactly the keys, and nothing else
ever does."""

import base64
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from delivery_support import (
    IMAGE_BYTES,
    LINKS,
    TEXT_KEY,
    Running,
    client,
    keys_delivered,
    keys_emailed,
    link_path,
    payment_finished,
    publish,
    until_handled,
)
from sqlalchemy import select

from bitloot_delivery.adapters.orm import deliveries, reveals
from bitloot_delivery.domain.links import RevealLinks
from bitloot_delivery.entrypoints.pages import SCRIPT_PATH
from bitloot_testing.bus import eventually
from bitloot_testing.smtp import SmtpServer

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# The reveal page runs one script, its copy buttons', served by delivery (issue #21).
REVEAL_CSP = f"{CSP}; script-src 'self'"


def assert_secure(response: httpx.Response, csp: str = CSP) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"].startswith("text/html")


async def test_the_emailed_link_reveals_exactly_the_keys_and_records_the_reveal(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    event, email = await keys_emailed(delivery, smtp_inbox)
    async with client(delivery) as http:
        response = await http.get(link_path(email.message), headers={"user-agent": "test/1"})
    assert response.status_code == 200
    assert_secure(response, REVEAL_CSP)
    # Each key is selectable text in its own element (issue #21 replaced the bare list).
    assert f'<code class="key" id="key-1">{TEXT_KEY}</code>' in response.text
    image = base64.b64encode(IMAGE_BYTES).decode()
    assert f'src="data:image/png;base64,{image}"' in response.text
    assert response.text.count('<code class="key"') + response.text.count("<img ") == 2
    async with delivery.runtime.engine.connect() as connection:
        rows = (await connection.execute(select(reveals))).mappings().all()
        viewed_at = await connection.scalar(select(deliveries.c.viewed_at))
    assert [(r["order_id"], r["ip"], r["user_agent"]) for r in rows] == [
        (event.order_id, "203.0.113.7", "test/1")
    ]
    assert viewed_at is not None


async def test_an_expired_link_is_answered_410_without_keys(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    event, _ = await keys_emailed(delivery, smtp_inbox)
    token = LINKS.issue(event.order_id, now=datetime.now(UTC) - timedelta(hours=1))
    async with client(delivery) as http:
        response = await http.get(f"/keys/{token}")
    assert response.status_code == 410
    assert "Link expired" in response.text
    assert TEXT_KEY not in response.text
    assert_secure(response)


@pytest.mark.parametrize("secret", ["another-secret-that-is-at-least-32-characters"])
async def test_a_forged_link_is_answered_401_whether_or_not_the_order_exists(
    delivery: Running, smtp_inbox: SmtpServer, secret: str
) -> None:
    event, _ = await keys_emailed(delivery, smtp_inbox)
    forged = RevealLinks(secret, timedelta(minutes=15)).issue(event.order_id)
    async with client(delivery) as http:
        answers = [await http.get(f"/keys/{token}") for token in (forged, "not-a-token")]
    for response in answers:
        assert response.status_code == 401
        assert "Link invalid" in response.text
        assert TEXT_KEY not in response.text
        assert_secure(response)
    # The same page but for the token itself, in the fresh-link form's address.
    assert answers[0].text.replace(forged, "T") == answers[1].text.replace("not-a-token", "T")
    async with delivery.runtime.engine.connect() as connection:
        assert (await connection.execute(select(reveals))).all() == []


def sections(page: str) -> list[str]:
    """The page's product sections, in order."""
    return re.findall(r'<section class="card">(.*?)</section>', page, flags=re.S)


async def revealed_page(delivery: Running, smtp_inbox: SmtpServer, **titles: str | None) -> str:
    """The reveal page of an order paid (payment.finished with `titles`) then delivered."""
    event = keys_delivered(delivery.public_key)
    finished = payment_finished(event.order_id, **titles)
    await publish(delivery.runtime, finished)
    await until_handled(delivery, finished)
    await publish(delivery.runtime, event)
    [email] = await smtp_inbox.wait_for(1)
    async with client(delivery) as http:
        response = await http.get(link_path(email.message))
    assert response.status_code == 200
    assert_secure(response, REVEAL_CSP)
    assert str(event.order_id) in response.text
    return response.text


async def test_each_key_shows_under_its_product_with_a_copy_button_and_redemption_help(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    page = await revealed_page(delivery, smtp_inbox)
    text_product, image_product = sections(page)
    assert "<h2>Hollow Knight</h2>" in text_product
    assert TEXT_KEY in text_product
    assert 'data-copy="key-1"' in text_product
    assert "<summary>How to redeem on Steam</summary>" in text_product
    assert "Activate a Product on Steam" in text_product
    # An image key has nothing to copy; a product without a platform gets the general help.
    assert "<h2>Celeste</h2>" in image_product
    assert "data-copy" not in image_product
    assert "<summary>How to redeem on your platform</summary>" in image_product
    assert "25.5 USD" in page
    assert "support@bitloot.io" in page
    assert f'<script src="{SCRIPT_PATH}" defer></script>' in page


async def test_a_hostile_title_is_shown_as_text(delivery: Running, smtp_inbox: SmtpServer) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    page = await revealed_page(delivery, smtp_inbox, text_title=hostile, text_platform="</h2>")
    assert hostile not in page
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    )
    assert page.count("<script") == 1


async def test_the_copy_script_is_served_by_delivery_itself(delivery: Running) -> None:
    async with client(delivery) as http:
        response = await http.get(SCRIPT_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "navigator.clipboard" in response.text


async def test_reveals_are_counted_by_outcome_and_the_key_email_as_accepted(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    event, email = await keys_emailed(delivery, smtp_inbox)
    expired = LINKS.issue(event.order_id, now=datetime.now(UTC) - timedelta(hours=1))
    async with client(delivery) as http:
        for path in (link_path(email.message), f"/keys/{expired}", "/keys/not-a-token"):
            await http.get(path)
    registry = delivery.runtime.metrics.registry

    def counted(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, {"service": "delivery", **labels}) or 0.0

    for outcome in ("revealed", "expired", "invalid"):
        assert counted("bitloot_reveals_total", outcome=outcome) == 1
    sent = {"kind": "delivery", "outcome": "accepted"}

    async def email_counted() -> bool:
        return counted("bitloot_emails_total", **sent) == 1

    assert await eventually(email_counted, timeout=10)
    assert str(event.order_id) not in delivery.runtime.metrics.render()[0].decode()
