"""``GET /internal/stats``: what the admin's home page counts of payments, per hour, and
what waits for an admin (open flags, refunds owed), summed by PostgreSQL."""

from datetime import UTC, datetime, timedelta

import httpx
from payments_support import ipn, new_order, send, settled

from bitloot_runtime.service import ServiceRuntime


async def test_orders_are_counted_per_hour_and_open_items_named(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    paid, failed, short, _waiting = [await new_order(client) for _ in range(4)]
    await send(client, ipn(paid, "finished", payment_id=41))
    await send(client, ipn(failed, "failed", payment_id=42))
    await send(client, ipn(short, "partially_paid", payment_id=43, actually_paid=10))
    await settled(runtime)

    answer = await admin.get("/internal/stats", params={"since": since.isoformat()})
    assert answer.status_code == 200, answer.text
    figures = answer.json()
    totals = {
        name: sum(hour[name] for hour in figures["hours"])
        for name in ("placed", "paid", "failed", "refunds_due")
    }
    assert totals == {"placed": 4, "paid": 1, "failed": 1, "refunds_due": 0}
    hour = datetime.fromisoformat(figures["hours"][-1]["hour"])
    assert (hour.minute, hour.second, hour.tzinfo) == (0, 0, UTC)
    [flag] = figures["open_flags"]["items"]
    assert (figures["open_flags"]["count"], flag["order_id"]) == (1, short)

    decided = await admin.post(f"/internal/flags/{flag['id']}/refund-due", json={})
    assert decided.status_code == 200, decided.text
    after = (await admin.get("/internal/stats", params={"since": since.isoformat()})).json()
    assert sum(hour["refunds_due"] for hour in after["hours"]) == 1
    assert after["open_flags"] == {"count": 0, "items": []}
    [owed] = after["refunds_owed"]["items"]
    assert (after["refunds_owed"]["count"], owed["order_id"], owed["kind"]) == (1, short, "due")

    # Nothing is counted from before `since`.
    now = datetime.now(UTC).isoformat()
    empty = await admin.get("/internal/stats", params={"since": now})
    assert empty.json()["hours"] == []


async def test_stats_need_the_internal_token_and_a_sensible_since(
    client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC).isoformat()
    refused = await client.get("/internal/stats", params={"since": now})
    assert refused.status_code == 401
    wrong = await client.get(
        "/internal/stats", params={"since": now}, headers={"authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    for since in (None, "yesterday"):  # every bad form: bitloot_runtime's tests
        params = {"since": since} if since else {}
        answer = await admin.get("/internal/stats", params=params)
        assert (answer.status_code, answer.json()["error"]) == (422, "invalid_since"), since
