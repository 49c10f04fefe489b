"""``POST /internal/orders/{id}/deliver-by-hand``: keys an admin entered, sealed to
delivery, handed on as keys.delivered once, for a failed or stuck order only."""

from typing import Any
from uuid import UUID, uuid4

import httpx
from fulfillment_support import (
    INTERNAL_TOKEN,
    Instances,
    body,
    completed,
    make_due,
    payment,
    publish,
    published,
    saga_in_state,
    saga_row,
    spying,
)
from starlette.applications import Starlette

from bitloot_contracts.events import ReservationFailed
from bitloot_runtime.sealing import generate_key_pair, load_public_key, seal
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

ADMIN = {"X-Bitloot-Actor": "ann"}


def client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
    )


def sealed_keys(order_id: UUID) -> dict[str, Any]:
    public = load_public_key(generate_key_pair()[1])
    return seal(b'{"keys":[]}', public, "d1", order_id).model_dump(mode="json")


async def deliver(http: httpx.AsyncClient, order_id: UUID, key_count: int = 1) -> httpx.Response:
    document = {"sealed": sealed_keys(order_id), "key_count": key_count}
    return await http.post(
        f"/internal/orders/{order_id}/deliver-by-hand", json=document, headers=ADMIN
    )


async def failed_at_reservation(runtime: ServiceRuntime) -> UUID:
    order_id = uuid4()
    await publish(runtime, payment(order_id))
    await saga_in_state(runtime, order_id, "reserving")
    await publish(runtime, ReservationFailed(order_id=order_id, code="out_of_stock", reason="0"))
    await saga_in_state(runtime, order_id, "failed")
    return order_id


async def test_a_failed_order_gets_its_sealed_keys_to_delivery_once(
    fulfillment_app: tuple[ServiceRuntime, Starlette], bus_prefix: BusNamespace
) -> None:
    runtime, app = fulfillment_app
    order_id = await failed_at_reservation(runtime)
    async with spying(runtime, bus_prefix) as spy, client(app) as http:
        document = {"sealed": sealed_keys(order_id), "key_count": 1}
        path = f"/internal/orders/{order_id}/deliver-by-hand"
        answer = await http.post(path, json=document, headers=ADMIN)
        again = await http.post(path, json=document, headers=ADMIN)
        [delivered] = await published(spy, "keys.delivered", 1)
        timeline = (await http.get(f"/internal/orders/{order_id}/timeline")).json()
        listed = (await http.get("/internal/sagas", params={"order_id": str(order_id)})).json()
    assert (answer.status_code, answer.json()["state"]) == (200, "delivering")
    assert (again.status_code, again.json()["error"]) == (409, "already_delivered_by_hand")
    assert body(delivered)["sealed"] == document["sealed"]
    assert (body(delivered)["key_count"], body(delivered)["customer_email"]) == (
        1,
        "buyer@example.com",
    )
    last = timeline["items"][-1]["data"]
    assert last == {
        "from": "failed",
        "to": "delivering",
        "reason": "keys delivered by hand by admin:ann",
    }
    assert listed["items"][0]["delivered_by_hand_by"] == "admin:ann"
    assert listed["items"][0]["lines"] == [{"kinguin_product_id": "5c9b", "qty": 1}]
    # Fulfillment hears its own keys.delivered harmlessly; delivery's verdict ends the order.
    await publish(runtime, completed(order_id))
    await saga_in_state(runtime, order_id, "fulfilled")


async def test_a_fulfilled_order_is_refused_and_nothing_is_sent(
    fulfillment_app: tuple[ServiceRuntime, Starlette], bus_prefix: BusNamespace
) -> None:
    runtime, app = fulfillment_app
    order_id = await failed_at_reservation(runtime)
    await publish(runtime, completed(order_id))

    async def keys_reached_delivery() -> bool:
        row = await saga_row(runtime, order_id)
        return row is not None and row["keys_left_gateway"]

    assert await eventually(keys_reached_delivery, timeout=20)
    async with spying(runtime, bus_prefix) as spy, client(app) as http:
        refused = await deliver(http, order_id)
        sent = await spy.collect(expected=0, timeout=1.0)
    assert (refused.status_code, refused.json()["error"]) == (409, "keys_already_with_delivery")
    assert sent == []


async def test_a_stuck_order_is_accepted_and_one_before_its_deadline_refused(
    instances: Instances,
) -> None:
    # No sweep after the first: a due deadline stays unfired, as when the sweeper is stuck.
    runtime, app = await instances.start(timer_sweep_interval=60)
    stuck, waiting = uuid4(), uuid4()
    for order_id in (stuck, waiting):
        await publish(runtime, payment(order_id))
        await saga_in_state(runtime, order_id, "reserving")
    await make_due(runtime, stuck, "deadline")
    async with client(app) as http:
        accepted = await deliver(http, stuck)
        refused = await deliver(http, waiting)
    assert (accepted.status_code, accepted.json()["state"]) == (200, "delivering")
    assert (refused.status_code, refused.json()["error"]) == (409, "not_failed_or_stuck")
    assert (await saga_row(runtime, waiting) or {})["state"] == "reserving"


async def test_bad_requests_are_refused_with_a_reason_and_change_nothing(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    order_id = await failed_at_reservation(runtime)
    path = f"/internal/orders/{order_id}/deliver-by-hand"
    good = {"sealed": sealed_keys(order_id), "key_count": 1}
    async with client(app) as http:
        answers = [
            await deliver(http, order_id, key_count=2),
            await http.post(path, json=good),
            await http.post(path, json={**good, "keys": ["AAAA-BBBB"]}, headers=ADMIN),
            await http.post(path, json={"key_count": 1}, headers=ADMIN),
            await deliver(http, uuid4()),
        ]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [
        (422, "key_count_mismatch"),
        (422, "actor_missing"),
        (422, "invalid_request"),
        (422, "invalid_request"),
        (404, "order_not_found"),
    ]
    row = await saga_row(runtime, order_id) or {}
    assert (row["state"], row["delivered_by_hand_by"]) == ("failed", None)
