"""The fulfillment internal API, as the admin service reads it."""

from datetime import UTC, datetime
from uuid import uuid4

import httpx
from fulfillment_support import INTERNAL_TOKEN, payment, publish
from starlette.applications import Starlette

from bitloot_contracts.events import DeliveryCompleted, KinguinWebhook, ReservationCreated
from bitloot_fulfillment.adapters import views
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import eventually


def client(app: Starlette, token: str | None = INTERNAL_TOKEN) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )


async def test_timeline_lists_every_transition_of_a_fulfilled_order_in_order(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    order_id = uuid4()
    await publish(runtime, payment(order_id))
    await publish(
        runtime, ReservationCreated(order_id=order_id, kinguin_order_id="K-1", status="processing")
    )
    await publish(
        runtime,
        KinguinWebhook(
            order_id=order_id,
            kinguin_order_id="K-1",
            status="completed",
            updated_at=datetime.now(UTC),
        ),
    )

    async def keys_requested() -> bool:
        async with runtime.sessionmaker() as session:
            rows = await views.sagas_by_id(session, [order_id], None, 1)
        return bool(rows) and rows[0]["state"] == "keys_requested"

    assert await eventually(keys_requested, timeout=20)
    await publish(runtime, DeliveryCompleted(order_id=order_id, key_count=1, email_sent=True))

    async with client(app) as http:

        async def fulfilled() -> bool:
            answer = await http.get("/internal/sagas", params={"order_id": str(order_id)})
            return bool(answer.json()["items"][0]["state"] == "fulfilled")

        assert await eventually(fulfilled, timeout=20)
        timeline = (await http.get(f"/internal/orders/{order_id}/timeline")).json()
    states = [item["data"]["to"] for item in timeline["items"]]
    assert states == ["paid", "reserving", "reserved", "keys_requested", "delivering", "fulfilled"]
    assert timeline["items"][0]["data"]["from"] is None


async def test_internal_api_refuses_callers_without_the_service_token(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    _, app = fulfillment_app
    async with client(app, token=None) as anonymous, client(app, token="x" * 20) as forged:
        for http in (anonymous, forged):
            answer = await http.get("/internal/sagas")
            assert answer.status_code == 401
            assert answer.json()["error"] == "unauthorized"


async def test_unknown_order_has_an_empty_timeline_and_bad_ids_are_refused(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    _, app = fulfillment_app
    async with client(app) as http:
        empty = await http.get(f"/internal/orders/{uuid4()}/timeline")
        bad = await http.get("/internal/sagas", params={"order_id": "not-a-uuid"})
        too_many = await http.get("/internal/sagas", params={"limit": "101"})
    assert empty.status_code == 200
    assert empty.json()["items"] == []
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_order_id")
    assert (too_many.status_code, too_many.json()["error"]) == (422, "invalid_limit")
