"""The fulfillment internal API, as the admin service reads it."""

from datetime import timedelta
from uuid import UUID, uuid4

from fulfillment_support import (
    body,
    client,
    completed,
    failed_with_refund,
    keys_requested,
    payment,
    publish,
    published,
    reported,
    reserved,
    saga_in_state,
    saga_row,
    spying,
)
from sqlalchemy import func, update
from starlette.applications import Starlette

from bitloot_contracts.events import (
    DeliveryFailed,
    KinguinOrderStatus,
    ReservationFailed,
)
from bitloot_fulfillment.adapters.orm import saga_transitions, sagas
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace


async def paid_reserved_and_reported(
    runtime: ServiceRuntime, order_id: UUID, kinguin_order_id: str, status: KinguinOrderStatus
) -> None:
    """The order is paid, reserved at Kinguin, and Kinguin reports `status` for it."""
    await publish(runtime, payment(order_id))
    await publish(runtime, reserved(order_id, kinguin_order_id))
    await publish(runtime, reported(order_id, kinguin_order_id, status))


async def test_timeline_lists_every_transition_of_a_fulfilled_order_in_order(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    order_id = uuid4()
    await paid_reserved_and_reported(runtime, order_id, "K-1", "completed")

    await saga_in_state(runtime, order_id, "keys_requested")
    await publish(runtime, completed(order_id))

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


async def make_sagas(runtime: ServiceRuntime, count: int) -> list[UUID]:
    orders = [uuid4() for _ in range(count)]
    for order_id in orders:
        await publish(runtime, payment(order_id))
    for order_id in orders:
        await saga_in_state(runtime, order_id, "reserving")
    return orders


async def age(runtime: ServiceRuntime, order_id: UUID, hours: int) -> None:
    """Back-date a saga, as if it had been created and last changed `hours` ago."""
    async with runtime.engine.begin() as connection:
        await connection.execute(
            update(sagas)
            .where(sagas.c.order_id == order_id)
            .values(
                created_at=func.now() - timedelta(hours=hours),
                updated_at=func.now() - timedelta(hours=hours),
            )
        )


async def test_sagas_are_filtered_by_state_age_and_stuck_time(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    fresh, stuck, failed = await make_sagas(runtime, 3)
    await publish(runtime, ReservationFailed(order_id=failed, code="out_of_stock", reason="none"))
    await saga_in_state(runtime, failed, "failed")
    for order_id in (stuck, failed):
        await age(runtime, order_id, hours=2)
    async with client(app) as http:
        by_state = (await http.get("/internal/sagas", params={"state": "failed"})).json()
        old = (await http.get("/internal/sagas", params={"older_than": "3600"})).json()
        stuck_ones = (await http.get("/internal/sagas", params={"stuck_for": "3600"})).json()
        everything = (await http.get("/internal/sagas")).json()
    assert [item["order_id"] for item in by_state["items"]] == [str(failed)]
    assert by_state["items"][0]["needs_admin"] is True
    assert by_state["items"][0]["failure_stage"] == "reservation"
    assert {item["order_id"] for item in old["items"]} == {str(stuck), str(failed)}
    assert [item["order_id"] for item in stuck_ones["items"]] == [str(stuck)]
    assert {item["order_id"] for item in everything["items"]} == {
        str(o) for o in (fresh, stuck, failed)
    }


async def test_sagas_are_listed_in_pages_of_at_most_the_limit(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    orders = await make_sagas(runtime, 5)
    seen: list[str] = []
    cursor: dict[str, str] | None = {}
    async with client(app) as http:
        while cursor is not None:
            page = (await http.get("/internal/sagas", params={"limit": "2", **cursor})).json()
            assert len(page["items"]) <= 2
            seen += [item["order_id"] for item in page["items"]]
            cursor = {"cursor": page["next"]} if page["next"] else None
        bad = [
            await http.get("/internal/sagas", params={name: value})
            for name, value in (
                ("cursor", "-1"),
                ("stuck_for", "soon"),
                ("older_than", str(10**12)),
                ("state", "lost"),
            )
        ]
    assert sorted(seen) == sorted(str(o) for o in orders)
    assert [(a.status_code, a.json()["error"]) for a in bad] == [
        (422, "invalid_cursor"),
        (422, "invalid_stuck_for"),
        (422, "invalid_older_than"),
        (422, "invalid_state"),
    ]


async def test_retrying_a_delivery_failure_requests_the_keys_again_and_never_a_purchase(
    fulfillment_app: tuple[ServiceRuntime, Starlette], bus_prefix: BusNamespace
) -> None:
    runtime, app = fulfillment_app
    order_id = uuid4()
    await keys_requested(runtime, order_id, "K-8")
    await publish(runtime, DeliveryFailed(order_id=order_id, code="s3_down", reason="refused"))
    await saga_in_state(runtime, order_id, "failed")
    async with spying(runtime, bus_prefix) as spy, client(app) as http:
        answer = await http.post(f"/internal/orders/{order_id}/retry")
        [keys] = await published(spy, "keys.requested", 1)
        purchases = await spy.collect(expected=0, timeout=0.5)
        timeline = (await http.get(f"/internal/orders/{order_id}/timeline")).json()
    assert (answer.status_code, answer.json()["state"]) == (200, "keys_requested")
    assert body(keys)["kinguin_order_id"] == "K-8"
    assert "reservation.requested" not in [m.routing_key for m in purchases]
    retried = [
        i for i in timeline["items"] if i["data"]["reason"] == "admin retry after delivery failure"
    ]
    assert [i["data"]["to"] for i in retried] == ["reserved"]
    assert timeline["items"][-1]["data"]["to"] == "keys_requested"


async def test_a_retry_after_kinguin_canceled_asks_for_a_replacement_once(
    fulfillment_app: tuple[ServiceRuntime, Starlette], bus_prefix: BusNamespace
) -> None:
    runtime, app = fulfillment_app
    order_id = uuid4()
    await paid_reserved_and_reported(runtime, order_id, "K-2", "canceled")
    await saga_in_state(runtime, order_id, "failed")
    async with spying(runtime, bus_prefix) as spy, client(app) as http:
        answer = await http.post(f"/internal/orders/{order_id}/retry")
        again = await http.post(f"/internal/orders/{order_id}/retry")
        [request] = await published(spy, "reservation.requested", 1)
    assert answer.status_code == 200
    assert answer.json()["previous_state"] == "failed"
    assert answer.json()["state"] == "reserving"
    assert answer.json()["summary"].startswith("Requested — still reserving")
    assert body(request)["order_id"] == str(order_id)
    # The order is reserving again, within its new deadline: nothing to retry.
    assert (again.status_code, again.json()["error"]) == (409, "not_stuck")
    row = await saga_row(runtime, order_id) or {}
    assert (row["kinguin_order_id"], row["reservation_confirmed"]) == (None, False)


async def test_a_stuck_order_is_retried_and_a_fresh_one_is_not(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    stuck, fresh = uuid4(), uuid4()
    for order_id in (stuck, fresh):
        await publish(runtime, payment(order_id))
        await saga_in_state(runtime, order_id, "reserving")
    async with runtime.engine.begin() as connection:
        await connection.execute(
            update(saga_transitions)
            .where(saga_transitions.c.order_id == stuck)
            .values(at=func.now() - timedelta(hours=2))
        )
    async with client(app) as http:
        retried = await http.post(f"/internal/orders/{stuck}/retry")
        refused = await http.post(f"/internal/orders/{fresh}/retry")
    assert (retried.status_code, retried.json()["state"]) == (200, "reserving")
    assert (refused.status_code, refused.json()["error"]) == (409, "not_stuck")


async def test_a_retry_that_makes_no_sense_is_refused_and_changes_nothing(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    order_id = uuid4()
    await keys_requested(runtime, order_id, "K-3")
    async with client(app) as http:
        before = (await http.get(f"/internal/orders/{order_id}/timeline")).json()
        refused = await http.post(f"/internal/orders/{order_id}/retry")
        unknown = await http.post(f"/internal/orders/{uuid4()}/retry")
        after = (await http.get(f"/internal/orders/{order_id}/timeline")).json()
    assert (refused.status_code, refused.json()["error"]) == (409, "not_stuck")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "order_not_found")
    assert after == before
    assert (await saga_row(runtime, order_id) or {})["state"] == "keys_requested"


async def test_the_saga_listing_shows_the_refund_and_the_customer_status(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    order_id = await failed_with_refund(runtime, "due")
    async with client(app) as http:
        answer = await http.get("/internal/sagas", params={"order_id": str(order_id)})
    assert answer.status_code == 200
    [item] = answer.json()["items"]
    assert (item["state"], item["refund_id"], item["refund_status"]) == ("failed", 41, "due")
    assert (item["customer_status"], item["needs_admin"]) == ("refund_due", True)


async def test_a_retry_once_the_refund_is_approved_is_refused_and_changes_nothing(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    order_id = await failed_with_refund(runtime, "due", "claimed", "approved")
    before = await saga_row(runtime, order_id)
    async with client(app) as http:
        answer = await http.post(f"/internal/orders/{order_id}/retry")
    assert answer.status_code == 409
    assert answer.json()["error"] == "refund_paid"
    assert await saga_row(runtime, order_id) == before
