"""POST /kinguin/webhooks: authenticated, logged once, deduplicated, in order, 204."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import httpx
from kinguin_gateway_support import PREVIOUS_SECRET, WEBHOOK_SECRET, Gateway, published
from sqlalchemy import select

from bitloot_contracts.events import ReservationLine
from bitloot_kinguin_gateway.adapters.orm import reservations, webhook_log
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_runtime.signatures import hmac_sha512_hex

KINGUIN_ORDER = "K77"


async def placed_order(gateway: Gateway) -> UUID:
    order_id = uuid4()
    line = ReservationLine(kinguin_product_id="prod-a", qty=1, max_unit_price=Decimal("3"))
    async with gateway.runtime.unit_of_work() as uow:
        repository = ReservationRepository(uow.session)
        await repository.open(order_id, [line.model_dump(mode="json")])
        await repository.mark_placed(order_id, f"{KINGUIN_ORDER}-{order_id.hex[:6]}", "processing")
        await uow.commit()
    return order_id


def notification(order_id: UUID, status: str, at: datetime) -> bytes:
    body = {
        "orderId": f"{KINGUIN_ORDER}-{order_id.hex[:6]}",
        "orderExternalId": str(order_id),
        "status": status,
        "updatedAt": at.isoformat(),
    }
    return json.dumps(body).encode()


async def post(gateway: Gateway, body: bytes, **headers: str) -> httpx.Response:
    sent = {"X-Event-Name": "order.status", "Content-Type": "application/json", **headers}
    return await gateway.http.post("/kinguin/webhooks", content=body, headers=sent)


async def authentic(gateway: Gateway, body: bytes, **headers: str) -> httpx.Response:
    """`post` with Kinguin's secret."""
    return await post(gateway, body, **{"X-Event-Secret": WEBHOOK_SECRET, **headers})


async def statuses(gateway: Gateway) -> list[tuple[bool, bool, bool, str | None]]:
    async with gateway.runtime.engine.connect() as connection:
        query = select(
            webhook_log.c.authenticated,
            webhook_log.c.duplicate,
            webhook_log.c.applied,
            webhook_log.c.note,
        ).order_by(webhook_log.c.id)
        rows = await connection.execute(query)
        return [(row[0], row[1], row[2], row[3]) for row in rows]


async def test_an_authentic_webhook_is_answered_204_empty_and_reaches_the_bus(
    gateway: Gateway,
) -> None:
    order_id = await placed_order(gateway)
    async with gateway.spy() as spy:
        response = await authentic(gateway, notification(order_id, "completed", datetime.now(UTC)))
        [event] = await published(spy, "kinguin.webhook", 1)
    assert (response.status_code, response.content) == (204, b"")
    assert json.loads(event.body)["status"] == "completed"
    assert json.loads(event.body)["order_id"] == str(order_id)
    async with gateway.runtime.engine.connect() as connection:
        query = select(reservations.c.kinguin_status).where(reservations.c.order_id == order_id)
        assert await connection.scalar(query) == "completed"
        headers = await connection.scalar(select(webhook_log.c.headers))
    assert headers is not None
    assert headers["x-event-secret"] == "[REDACTED]"


async def test_a_webhook_without_the_secret_is_refused_and_changes_nothing(
    gateway: Gateway,
) -> None:
    order_id = await placed_order(gateway)
    body = notification(order_id, "completed", datetime.now(UTC))
    async with gateway.spy() as spy:
        wrong = await post(gateway, body, **{"X-Event-Secret": "guess"})
        missing = await post(gateway, body)
        bad_signature = await post(gateway, body, **{"X-KINGUIN-SIGNATURE": "00" * 64})
        assert await published(spy, "kinguin.webhook", 0) == []
    for response in (wrong, missing, bad_signature):
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
    assert await statuses(gateway) == [(False, False, False, None)] * 3


async def test_the_signature_and_the_previous_secret_are_accepted_too(gateway: Gateway) -> None:
    order_id = await placed_order(gateway)
    start = datetime.now(UTC)
    signed = notification(order_id, "processing", start)
    previous = notification(order_id, "completed", start + timedelta(seconds=1))
    signature = hmac_sha512_hex(WEBHOOK_SECRET, signed)
    async with gateway.spy() as spy:
        first = await post(gateway, signed, **{"X-KINGUIN-SIGNATURE": signature})
        second = await post(gateway, previous, **{"X-Event-Secret": PREVIOUS_SECRET})
        events = await published(spy, "kinguin.webhook", 2)
    assert (first.status_code, second.status_code) == (204, 204)
    assert [json.loads(e.body)["status"] for e in events] == ["processing", "completed"]


async def test_a_repeated_webhook_is_logged_but_published_once(gateway: Gateway) -> None:
    order_id = await placed_order(gateway)
    body = notification(order_id, "completed", datetime.now(UTC))
    async with gateway.spy() as spy:
        for _ in range(3):
            response = await authentic(gateway, body)
            assert response.status_code == 204
        assert len(await published(spy, "kinguin.webhook", 1)) == 1
    assert await statuses(gateway) == [
        (True, False, True, None),
        (True, True, False, "duplicate"),
        (True, True, False, "duplicate"),
    ]


async def test_a_status_older_than_the_last_known_is_not_applied(gateway: Gateway) -> None:
    order_id = await placed_order(gateway)
    now = datetime.now(UTC)
    async with gateway.spy() as spy:
        await authentic(gateway, notification(order_id, "completed", now))
        late = await authentic(
            gateway, notification(order_id, "processing", now - timedelta(seconds=5))
        )
        events = await published(spy, "kinguin.webhook", 1)
    assert late.status_code == 204
    assert [json.loads(e.body)["status"] for e in events] == ["completed"]
    assert (await statuses(gateway))[1] == (True, False, False, "stale")


async def test_a_webhook_about_an_unknown_order_is_logged_and_answered_204(
    gateway: Gateway,
) -> None:
    response = await authentic(gateway, notification(uuid4(), "completed", datetime.now(UTC)))
    assert response.status_code == 204
    assert await statuses(gateway) == [(True, False, False, "unknown_order")]


async def test_an_authentic_but_malformed_webhook_is_a_400_logged_and_applied_to_nothing(
    gateway: Gateway,
) -> None:
    not_json = await authentic(gateway, b"{not json")
    missing = await authentic(gateway, json.dumps({"orderId": "K1"}).encode())
    assert (not_json.status_code, missing.status_code) == (400, 400)
    assert not_json.json()["error"] == "malformed_json"
    assert missing.json()["error"] == "invalid_webhook"
    assert {f["field"] for f in missing.json()["fields"]} == {"status", "updatedAt"}
    # Kept for the record, applied to nothing.
    assert await statuses(gateway) == [(True, False, False, "invalid_body")] * 2


async def test_a_product_update_of_a_product_nobody_sells_is_logged_and_answered_204(
    gateway: Gateway,
) -> None:
    body = {
        "kinguinId": 1949,
        "productId": "5c9b5f6b2539a4e8f172916a",
        "qty": 845,
        "textQty": 845,
        "cheapestOfferId": ["611222acff9ca40001f0b020"],
        "updatedAt": "2020-10-16T11:24:08.015+00:00",
    }
    response = await authentic(
        gateway, json.dumps(body).encode(), **{"X-Event-Name": "product.update"}
    )
    assert (response.status_code, response.content) == (204, b"")
    assert await statuses(gateway) == [(True, False, False, "unwatched_product")]


async def test_a_product_update_without_its_fields_is_refused_400_and_logged(
    gateway: Gateway,
) -> None:
    response = await authentic(
        gateway, b'{"productId": "prod-a"}', **{"X-Event-Name": "product.update"}
    )
    assert response.status_code == 400
    assert {f["field"] for f in response.json()["fields"]} == {"qty", "updatedAt"}
    assert await statuses(gateway) == [(True, False, False, "invalid_body")]


async def test_webhooks_are_counted_by_event_and_outcome_once_logged(gateway: Gateway) -> None:
    order_id = await placed_order(gateway)
    body = notification(order_id, "completed", datetime.now(UTC))
    for _ in range(2):
        assert (await authentic(gateway, body)).status_code == 204
    assert (await post(gateway, body)).status_code == 401
    assert (await post(gateway, body, **{"X-Event-Name": "made.up." + "x" * 40})).status_code == 401
    assert (await authentic(gateway, b"{not json")).status_code == 400

    def counted(event: str, outcome: str) -> float:
        labels = {"service": "kinguin-gateway", "event": event, "outcome": outcome}
        found = gateway.runtime.metrics.registry.get_sample_value(
            "bitloot_kinguin_webhooks_total", labels
        )
        return found or 0.0

    assert counted("order.status", "accepted") == 1
    assert counted("order.status", "duplicate") == 1
    assert counted("order.status", "unauthenticated") == 1
    assert counted("other", "unauthenticated") == 1, "a made-up event name is not a label"
    assert counted("order.status", "invalid") == 1
    assert str(order_id) not in gateway.runtime.metrics.render()[0].decode()
