"""The internal API the admin service reads: reservations, the webhook log (list, detail,
replay), an order's timeline, and a reservation's live status at Kinguin."""

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx
from aio_pika.abc import AbstractIncomingMessage
from kinguin_gateway_support import (
    INTERNAL_TOKEN,
    WEBHOOK_SECRET,
    Gateway,
    Kinguin,
    published,
    request,
)

TOKEN = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}


async def bought(
    gateway: Gateway, order_id: UUID, maximum: str = "3.00", topic: str = "reservation.created"
) -> None:
    async with gateway.spy() as spy:
        await gateway.publish(request(order_id, maximum=maximum))
        await published(spy, topic, 1)


async def webhook(gateway: Gateway, body: dict[str, str]) -> httpx.Response:
    return await gateway.http.post(
        "/kinguin/webhooks",
        json=body,
        headers={"X-Event-Name": "order.status", "X-Event-Secret": WEBHOOK_SECRET},
    )


def status_body(kinguin_order_id: str, order_id: UUID, status: str) -> dict[str, str]:
    return {
        "orderId": kinguin_order_id,
        "orderExternalId": str(order_id),
        "status": status,
        "updatedAt": datetime.now(UTC).isoformat(),
    }


async def test_a_reservation_and_its_timeline_are_shown_to_the_internal_token_only(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    await bought(gateway, order_id)
    [order] = kinguin.orders
    await webhook(gateway, status_body(order.order_id, order_id, "completed"))

    refused = await gateway.http.get(f"/internal/reservations/{order_id}")
    reservation = await gateway.http.get(f"/internal/reservations/{order_id}", headers=TOKEN)
    unknown = await gateway.http.get(f"/internal/reservations/{uuid4()}", headers=TOKEN)
    timeline = await gateway.http.get(f"/internal/orders/{order_id}/timeline", headers=TOKEN)
    empty = await gateway.http.get(f"/internal/orders/{uuid4()}/timeline", headers=TOKEN)

    assert refused.status_code == 401
    assert reservation.json()["state"] == "placed"
    assert reservation.json()["kinguin_order_id"] == order.order_id
    assert reservation.json()["kinguin_status"] == "completed"
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "reservation_not_found"
    kinds = [item["kind"] for item in timeline.json()["items"]]
    assert kinds == ["reservation_placing", "reservation_placed", "webhook_received"]
    assert timeline.json()["items"][2]["data"]["applied"] is True
    assert empty.json() == {"order_id": empty.json()["order_id"], "items": []}


async def test_reservations_are_listed_by_status_order_and_reservation_id_a_page_at_a_time(
    gateway: Gateway,
) -> None:
    placed_a, placed_b, failed = uuid4(), uuid4(), uuid4()
    await bought(gateway, placed_a)
    await bought(gateway, placed_b)
    await bought(gateway, failed, maximum="1.00", topic="reservation.failed")

    async def listing(**params: str) -> httpx.Response:
        return await gateway.http.get("/internal/reservations", params=params, headers=TOKEN)

    everything = (await listing()).json()
    assert [r["order_id"] for r in everything["items"]] == [
        str(failed),
        str(placed_b),
        str(placed_a),
    ]
    assert (await listing(status="failed")).json()["items"][0]["failure_code"] == (
        "price_above_maximum"
    )
    assert {r["order_id"] for r in (await listing(status="placed")).json()["items"]} == {
        str(placed_a),
        str(placed_b),
    }
    [one] = (await listing(order_id=str(placed_a))).json()["items"]
    by_id = (await listing(reservation_id=one["reservation_id"])).json()["items"]
    assert by_id == [one]
    first = (await listing(limit="2")).json()
    second = (await listing(limit="2", cursor=first["next"])).json()
    assert [r["order_id"] for r in first["items"] + second["items"]] == [
        r["order_id"] for r in everything["items"]
    ]
    assert second["next"] is None
    for bad, code in (
        ({"limit": "101"}, "invalid_limit"),
        ({"status": "lost"}, "invalid_filter"),
        ({"order_id": "nope"}, "invalid_filter"),
        ({"cursor": "-1"}, "invalid_cursor"),
        ({"offset": "50"}, "invalid_offset"),
    ):
        refused = await listing(**bad)
        assert (refused.status_code, refused.json()["error"]) == (422, code), bad


async def test_the_webhook_log_lists_shows_and_replays_news_that_came_too_early(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    # Kinguin's webhook overtakes our own record of the order: logged, not applied.
    early = status_body("K-EARLY", order_id, "completed")
    assert (await webhook(gateway, early)).status_code == 204
    listed = await gateway.http.get("/internal/webhooks", headers=TOKEN)
    [logged] = listed.json()["items"]
    assert (logged["note"], logged["applied"]) == ("unknown_order", False)
    detail = (await gateway.http.get(f"/internal/webhooks/{logged['id']}", headers=TOKEN)).json()
    assert json.loads(detail["raw_body"]) == early
    assert detail["headers"]["x-event-secret"] == "[REDACTED]"

    await bought(gateway, order_id)
    seen: list[AbstractIncomingMessage] = []
    async with gateway.spy() as spy:
        replayed = await gateway.http.post(
            f"/internal/webhooks/{logged['id']}/replay", headers=TOKEN
        )
        [event] = await published(spy, "kinguin.webhook", 1, seen)
        again = await gateway.http.post(f"/internal/webhooks/{logged['id']}/replay", headers=TOKEN)
        assert await published(spy, "kinguin.webhook", 1, seen) == [event]
    assert (replayed.json()["applied"], replayed.json()["order_id"]) == (True, str(order_id))
    assert json.loads(event.body)["status"] == "completed"
    assert (again.status_code, again.json()["error"]) == (409, "already_applied")
    missing = await gateway.http.post("/internal/webhooks/999999/replay", headers=TOKEN)
    assert missing.status_code == 404


async def test_an_unauthenticated_webhook_is_listed_but_never_replayed(gateway: Gateway) -> None:
    await gateway.http.post(
        "/kinguin/webhooks",
        json=status_body("K1", uuid4(), "completed"),
        headers={"X-Event-Name": "order.status", "X-Event-Secret": "guess"},
    )
    listed = await gateway.http.get(
        "/internal/webhooks", params={"authenticated": "false"}, headers=TOKEN
    )
    [logged] = listed.json()["items"]
    replay = await gateway.http.post(f"/internal/webhooks/{logged['id']}/replay", headers=TOKEN)
    assert (replay.status_code, replay.json()["error"]) == (409, "not_authenticated")


async def test_the_live_status_is_asked_of_kinguin_behind_the_internal_token(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    await bought(gateway, order_id)
    await kinguin.sandbox.idle()
    listed = await gateway.http.get(
        "/internal/reservations", params={"order_id": str(order_id)}, headers=TOKEN
    )
    reservation_id = listed.json()["items"][0]["reservation_id"]
    path = f"/internal/kinguin/status/{reservation_id}"

    refused = await gateway.http.get(path)
    live = await gateway.http.get(path, headers=TOKEN)
    unknown = await gateway.http.get(f"/internal/kinguin/status/{uuid4()}", headers=TOKEN)

    assert refused.status_code == 401
    [order] = kinguin.orders
    assert live.json()["kinguin_order_id"] == order.order_id
    assert live.json()["kinguin_status"] == "completed"
    assert live.json()["recorded_status"] == "processing"
    assert kinguin.calls(f"GET /v1/order/{order.order_id}") == 1
    assert unknown.status_code == 404
