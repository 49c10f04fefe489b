"""The JSON API aggregates the stand-in services; one that is down makes it partial."""

from uuid import uuid4

import httpx
from admin_support import StandIns, at, cursor_of


async def test_orders_come_from_payments_with_their_fulfillment_state(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    older = stand_ins.add_order("old@example.com", 0)
    newer = stand_ins.add_order("new@example.com", 10)
    stand_ins.add_saga(older, "fulfilled", updated_at=at(1))
    answer = await alice.get("/admin/api/orders", params={"limit": "1"})
    assert answer.status_code == 200
    body = answer.json()
    assert [(i["order_id"], i["fulfillment_state"]) for i in body["items"]] == [(str(newer), None)]
    assert body["items"][0]["total"] == "12.50"
    assert body["next"] == cursor_of(stand_ins.orders[0])
    assert body["partial"] == []
    second = (await alice.get("/admin/api/orders", params={"cursor": body["next"]})).json()
    assert {i["order_id"]: i["fulfillment_state"] for i in second["items"]}[str(older)] == (
        "fulfilled"
    )


async def test_filters_are_passed_to_payments(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.add_order("a@example.com", 0)
    params = {"email": "a@example.com", "status": "paid", "cursor": "abc_-1", "limit": "7"}
    assert (await alice.get("/admin/api/orders", params=params)).status_code == 200
    service, query = stand_ins.queries[0]
    assert service == "payments"
    assert dict(query) == params


async def test_bad_filters_are_refused_before_any_call(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    bad = (
        {"limit": "0"},
        {"limit": "101"},
        {"date": "yesterday"},
        {"date": "86400"},  # not read as a Unix time
        {"status": "<script>"},
        {"cursor": "a b"},
        {"order_id": "not-a-uuid"},
    )
    for params in bad:
        answer = await alice.get("/admin/api/orders", params=params)
        assert answer.status_code == 422
        assert set(answer.json()) == {"error", "detail", "fields"}
    assert stand_ins.queries == []


async def test_fulfillment_down_still_lists_the_orders_and_says_so(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.add_order("a@example.com", 0)
    stand_ins.failing.add("fulfillment")
    body = (await alice.get("/admin/api/orders")).json()
    assert [i["fulfillment_state"] for i in body["items"]] == [None]
    assert body["partial"] == ["fulfillment"]


async def test_an_order_merges_every_services_timeline_in_time_order(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    key = str(order_id)

    def item(minutes: float, kind: str) -> dict[str, object]:
        return {"at": at(minutes), "kind": kind, "summary": kind, "data": {"n": minutes}}

    stand_ins.timelines = {
        "payments": {key: [item(0, "order_created"), item(3, "payment_finished")]},
        "fulfillment": {key: [item(4, "saga_started"), item(9, "fulfilled")]},
        "kinguin-gateway": {key: [item(5, "reservation_created")]},
        "delivery": {key: [item(8, "keys_stored")]},
    }
    answer = await alice.get(f"/admin/api/orders/{order_id}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["order"]["email"] == "a@example.com"
    assert body["order"]["lines"] == [{"sku": "g-1", "qty": 1, "title": "Game g-1"}]
    assert [(e["service"], e["kind"]) for e in body["timeline"]] == [
        ("payments", "order_created"),
        ("payments", "payment_finished"),
        ("fulfillment", "saga_started"),
        ("kinguin-gateway", "reservation_created"),
        ("delivery", "keys_stored"),
        ("fulfillment", "fulfilled"),
    ]
    assert body["partial"] == []


async def test_an_order_shows_where_fulfillment_has_it_not_only_that_it_was_paid(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    stand_ins.sagas = [
        {
            "order_id": str(order_id),
            "state": "failed",
            "failure_stage": "delivery",
            "failure_reason": "smtp_unavailable: retries exhausted",
        }
    ]
    body = (await alice.get(f"/admin/api/orders/{order_id}")).json()
    assert body["fulfillment"]["state"] == "failed"
    assert body["fulfillment"]["failure_stage"] == "delivery"
    page = await alice.get(f"/admin/orders/{order_id}")
    assert "Failed at delivery: smtp_unavailable" in page.text  # the summary box


async def test_a_service_that_is_down_leaves_a_partial_order_not_an_error(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    stand_ins.failing.update({"delivery", "kinguin-gateway"})
    answer = await alice.get(f"/admin/api/orders/{order_id}")
    assert answer.status_code == 200
    assert sorted(answer.json()["partial"]) == ["delivery", "kinguin-gateway"]
    assert answer.json()["order"]["order_id"] == str(order_id)


async def test_orders_are_found_by_id_and_by_day_of_creation(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    wanted = stand_ins.add_order("a@example.com", 0)
    stand_ins.add_order("b@example.com", 60 * 24)
    by_id = (await alice.get("/admin/api/orders", params={"order_id": str(wanted)})).json()
    by_day = (await alice.get("/admin/api/orders", params={"date": "2026-11-01"})).json()
    unknown = await alice.get("/admin/api/orders", params={"order_id": str(uuid4())})
    assert [i["email"] for i in by_id["items"]] == ["a@example.com"]
    assert [i["email"] for i in by_day["items"]] == ["a@example.com"]
    assert by_day["next"] is None
    assert (unknown.status_code, unknown.json()["items"]) == (200, [])


async def test_an_order_payments_does_not_know_is_404(alice: httpx.AsyncClient) -> None:
    answer = await alice.get("/admin/api/orders/00000000-0000-0000-0000-000000000000")
    assert (answer.status_code, answer.json()["error"]) == (404, "order_not_found")
    assert (await alice.get("/admin/api/orders/not-a-uuid")).status_code == 404
