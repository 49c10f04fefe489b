"""The JSON API's listings, documents, dead letters, health and audit, aggregated from
the stand-in services over real HTTP; a service that does not answer makes it partial."""

import aio_pika
import httpx
from admin_support import (
    LOW_BALANCE,
    RunningAdmin,
    StandIns,
    alice_settings,
    bearer_login,
    running_admin,
    serve_stand_ins,
)

from bitloot_admin.adapters.upstream import SERVICES
from bitloot_testing.rabbitmq import BusNamespace


async def test_a_listing_passes_its_filters_and_pages_with_the_services_cursor(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    found = [{"order_id": f"o-{n}", "status": "failed"} for n in range(3)]
    stand_ins.listings[("kinguin-gateway", "/internal/reservations")] = found
    wanted = {"status": "failed", "limit": "2"}
    first = (await alice.get("/admin/api/reservations", params=wanted)).json()
    second = (await alice.get("/admin/api/reservations", params={**wanted, **first["next"]})).json()
    assert [r["order_id"] for r in first["items"]] == ["o-0", "o-1"]
    assert first["next"] == {"cursor": "2"}
    assert [r["order_id"] for r in second["items"]] == ["o-2"]
    assert second["next"] is None
    assert ("kinguin-gateway", [("status", "failed"), ("limit", "2")]) in stand_ins.queries


async def test_a_listing_of_a_service_that_is_down_is_empty_and_partial_not_an_error(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.listings[("kinguin-gateway", "/internal/reservations")] = [{"status": "ok"}]
    stand_ins.failing.add("kinguin-gateway")
    answer = await alice.get("/admin/api/reservations")
    assert answer.status_code == 200
    assert answer.json() == {"items": [], "next": None, "partial": ["kinguin-gateway"]}


async def test_a_bad_filter_is_422_with_the_field_and_reaches_no_service(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    answer = await alice.get("/admin/api/ipns", params={"payment_id": "1; drop"})
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_filter"
    assert answer.json()["fields"][0]["field"] == "payment_id"
    assert stand_ins.queries == []


async def test_a_payment_and_an_orders_key_audit_are_shown_as_the_services_send_them(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.listings[("payments", "/internal/payments/np-1")] = []
    order = "11111111-1111-1111-1111-111111111111"
    stand_ins.listings[("delivery", f"/internal/orders/{order}/audit")] = [{"event": "revealed"}]
    payment = await alice.get("/admin/api/payments/np-1")
    key_audit = await alice.get(f"/admin/api/orders/{order}/key-audit")
    assert payment.json()["item"]["items"] == []
    assert key_audit.json()["item"]["items"] == [{"event": "revealed"}]


async def test_dead_letters_of_every_service_are_listed_and_a_down_one_named(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.dead_letters["fulfillment"] = [{"id": 7, "queue": "fulfillment.keys.delivered"}]
    stand_ins.dead_letters["delivery"] = [{"id": 2, "queue": "delivery.keys.delivered"}]
    stand_ins.failing.add("payments")
    body = (await alice.get("/admin/api/dead-letters")).json()
    assert sorted((i["service"], i["id"]) for i in body["items"]) == [
        ("delivery", 2),
        ("fulfillment", 7),
    ]
    assert body["partial"] == ["payments"]


async def test_health_shows_readiness_outbox_lag_and_the_real_queue_depths(
    alice: httpx.AsyncClient, stand_ins: StandIns, admin: RunningAdmin, bus_prefix: BusNamespace
) -> None:
    queue = admin.runtime.topology.queue_name("fulfillment", "payment.finished")
    connection = await aio_pika.connect(bus_prefix.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=queue)
    stand_ins.failing.add("delivery")
    body = (await alice.get("/admin/api/health")).json()
    services = {s["service"]: s for s in body["services"]}
    assert services["payments"]["ready"] is True
    assert services["payments"]["outbox"] == {
        "pending": 3.0,
        "lag_seconds": 1.5,
        "dead_letters": 2.0,
    }
    assert services["delivery"]["ready"] is False
    assert services["delivery"]["checks"] == {"database": "timeout"}
    depths = {q["name"]: q for q in body["queues"]}
    assert depths[queue]["messages"] == 1
    assert depths[queue]["consumers"] == 0
    admin_queue = admin.runtime.topology.queue_name("admin", "order.fulfilled")
    assert depths[admin_queue]["consumers"] == 1
    assert body["partial"] == []


async def test_health_shows_the_kinguin_balance_in_eur_as_low_under_the_threshold(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.balance = LOW_BALANCE
    body = (await alice.get("/admin/api/health")).json()
    assert body["kinguin_balance"] == {
        "state": "low",
        "balance_eur": "90.01",
        "threshold_eur": "100",
        "read_at": "2026-12-05T07:00:00+00:00",
        "stale": False,
        "error": None,
        "detail": None,
        "failed_at": None,
    }
    stand_ins.balance = {**LOW_BALANCE, "balance_eur": "1500", "low": False}
    body = (await alice.get("/admin/api/health")).json()
    assert (body["kinguin_balance"]["state"], body["kinguin_balance"]["balance_eur"]) == (
        "ok",
        "1500",
    )


async def test_health_says_the_balance_is_unknown_when_the_gateway_is_down_or_never_read_it(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.balance = LOW_BALANCE
    stand_ins.failing.add("kinguin-gateway")
    down = (await alice.get("/admin/api/health")).json()
    stand_ins.failing.clear()
    stand_ins.balance = {
        **LOW_BALANCE,
        "balance_eur": None,
        "low": None,
        "read_at": None,
        "error": "kinguin_access_denied",
        "detail": "Kinguin answered 401 to GET /v1/balance.",
        "failed_at": "2026-12-05T07:05:00+00:00",
    }
    never = (await alice.get("/admin/api/health")).json()
    assert down["kinguin_balance"]["state"] == "unknown"
    assert down["kinguin_balance"]["error"] == "gateway_unavailable"
    assert down["kinguin_balance"]["balance_eur"] is None
    assert (never["kinguin_balance"]["state"], never["kinguin_balance"]["error"]) == (
        "unknown",
        "kinguin_access_denied",
    )
    assert never["partial"] == []


async def test_with_every_service_stopped_each_view_answers_partial_never_a_500(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    async with serve_stand_ins() as services:
        settings = alice_settings(database_url, bus_prefix, services)
        order_id = services.add_order("a@example.com", 0)
    # The services' server has stopped: nothing listens on its port any more.
    async with running_admin(settings, bus_prefix) as admin, admin.client() as client:
        await bearer_login(client)
        order = await client.get(f"/admin/api/orders/{order_id}")
        assert order.status_code == 200
        assert sorted(order.json()["partial"]) == sorted(SERVICES)
        for path in ("/admin/api/orders", "/admin/api/payments", "/admin/api/sagas"):
            listing = await client.get(path)
            assert (listing.status_code, listing.json()["items"]) == (200, [])
            assert listing.json()["partial"]
        letters = await client.get("/admin/api/dead-letters")
        assert sorted(letters.json()["partial"]) == sorted(SERVICES)
        health = (await client.get("/admin/api/health")).json()
        assert sorted(health["partial"]) == sorted(SERVICES)
        assert [s["ready"] for s in health["services"]] == [False] * 4
        assert health["kinguin_balance"]["state"] == "unknown"
        retry = await client.post(f"/admin/api/orders/{order_id}/retry")
        assert (retry.status_code, retry.json()["partial"]) == (503, ["fulfillment"])
