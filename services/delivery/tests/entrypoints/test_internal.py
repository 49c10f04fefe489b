"""Delivery's internal API: what the admin sees of an order's delivery, and its timeline."""

from uuid import uuid4

import httpx
from delivery_support import INTERNAL_TOKEN, TEXT_KEY, Running, keys_delivered, link_path, publish

from bitloot_testing.smtp import SmtpServer


def client(delivery: Running, token: str = INTERNAL_TOKEN) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=delivery.app),
        base_url="http://test",
        headers={"authorization": f"Bearer {token}"},
    )


async def test_a_delivery_and_its_timeline_show_storage_email_and_reveal(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    event = keys_delivered(delivery.public_key)
    await publish(delivery.runtime, event)
    [email] = await smtp_inbox.wait_for(1)
    async with client(delivery) as http:
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
    async with client(delivery) as http:
        summary = await http.get(f"/internal/deliveries/{order_id}")
        timeline = await http.get(f"/internal/orders/{order_id}/timeline")
    assert summary.status_code == 404
    assert summary.json()["error"] == "delivery_not_found"
    assert timeline.json() == {"order_id": str(order_id), "items": []}


async def test_the_internal_api_needs_the_service_token(delivery: Running) -> None:
    async with client(delivery, token="not-the-internal-token") as http:
        response = await http.get(f"/internal/deliveries/{uuid4()}")
    assert response.status_code == 401
