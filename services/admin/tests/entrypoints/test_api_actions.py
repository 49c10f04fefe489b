"""Repair actions through the API: each names the admin to the service, answers the
service's verdict, and is audited with its outcome; a down service is 503, not 500."""

from uuid import uuid4

import aio_pika
import httpx
from admin_support import RunningAdmin, StandIns, audit_of

from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace


async def test_a_replay_is_sent_with_the_admins_name_and_audited(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    answer = await alice.post("/admin/api/dead-letters/fulfillment/7/replay")
    assert answer.status_code == 200
    assert answer.json()["service"] == "fulfillment"
    assert stand_ins.posts == [("fulfillment", "/internal/dead-letters/7/replay", "alice")]
    latest = (await audit_of(alice))[0]
    assert (latest["username"], latest["action"], latest["target"], latest["outcome"]) == (
        "alice",
        "dead_letter_replay",
        "fulfillment/dead-letters/7",
        "ok",
    )


async def test_a_refused_retry_passes_the_services_reason_on_and_is_audited_as_refused(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    body = {"error": "not_retryable", "detail": "The saga is fulfilled."}
    stand_ins.refusals[f"/internal/orders/{order_id}/retry"] = (409, body)
    answer = await alice.post(f"/admin/api/orders/{order_id}/retry")
    assert answer.status_code == 409
    assert answer.json() == {
        "error": "not_retryable",
        "detail": "The saga is fulfilled.",
        "fields": [],
        "service": "fulfillment",
    }
    assert (await audit_of(alice))[0]["outcome"] == "not_retryable"


async def test_an_action_on_a_service_that_is_down_is_503_partial_and_audited(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.failing.add("delivery")
    answer = await alice.post(f"/admin/api/orders/{uuid4()}/resend-email")
    assert answer.status_code == 503
    assert answer.json()["error"] == "service_unavailable"
    assert answer.json()["partial"] == ["delivery"]
    latest = (await audit_of(alice))[0]
    assert (latest["action"], latest["outcome"]) == ("email_resend", "unavailable")


async def test_links_presigned_urls_and_webhook_replays_reach_their_services(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    stand_ins.listings[("delivery", f"/internal/orders/{order_id}/object-url")] = []
    assert (await alice.post(f"/admin/api/orders/{order_id}/link")).status_code == 200
    assert (await alice.post("/admin/api/webhooks/3/replay")).status_code == 200
    presigned = await alice.post(
        f"/admin/api/orders/{order_id}/object-url", params={"ttl_seconds": "60"}
    )
    too_long = await alice.post(
        f"/admin/api/orders/{order_id}/object-url", params={"ttl_seconds": "999999999"}
    )
    assert presigned.status_code == 200
    assert too_long.status_code == 422
    assert ("kinguin-gateway", "/internal/webhooks/3/replay", "alice") in stand_ins.posts
    assert ("delivery", f"/internal/orders/{order_id}/link", "alice") in stand_ins.posts
    actions = [r["action"] for r in await audit_of(alice)]
    assert {"link_issued", "webhook_replay", "object_url"} <= set(actions)


async def test_the_admins_own_parked_message_is_listed_and_replayed_through_its_own_store(
    alice: httpx.AsyncClient, admin: RunningAdmin, bus_prefix: BusNamespace
) -> None:
    queue = admin.runtime.topology.queue_name("admin", "refund.status_changed")
    connection = await aio_pika.connect(bus_prefix.amqp_url)
    async with connection:
        channel = await connection.channel()
        message = aio_pika.Message(
            b'{"not": "a refund.status_changed event"}', message_id=str(uuid4())
        )
        await channel.default_exchange.publish(message, routing_key=queue)

    async def parked() -> bool:
        body = (await alice.get("/admin/api/dead-letters")).json()
        return any(item["service"] == "admin" for item in body["items"])

    assert await eventually(parked)
    letter = next(
        i
        for i in (await alice.get("/admin/api/dead-letters")).json()["items"]
        if i["service"] == "admin"
    )
    replayed = await alice.post(f"/admin/api/dead-letters/admin/{letter['id']}/replay")
    unknown_service = await alice.post("/admin/api/dead-letters/nobody/1/replay")
    assert replayed.status_code == 200
    assert replayed.json()["result"]["replay_count"] == 1
    assert (unknown_service.status_code, unknown_service.json()["error"]) == (
        404,
        "unknown_service",
    )


async def test_a_browser_session_must_send_the_csrf_token_with_an_api_action(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    csrf = browser.cookies["bitloot_admin_csrf"]
    refused = await browser.post("/admin/api/dead-letters/payments/1/replay")
    accepted = await browser.post(
        "/admin/api/dead-letters/payments/1/replay", headers={"X-CSRF-Token": csrf}
    )
    assert (refused.status_code, refused.json()["error"]) == (403, "csrf_failed")
    assert accepted.status_code == 200
    assert stand_ins.posts == [("payments", "/internal/dead-letters/1/replay", "alice")]
