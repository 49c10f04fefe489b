"""``GET /internal/stats``: orders fulfilled and failed per hour, time-to-key p50/p99
(saga start to fulfilled) per hour and over the window, and the orders waiting for an
admin, each summed by PostgreSQL."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from fulfillment_support import client, failed_order
from sqlalchemy import insert
from starlette.applications import Starlette

from bitloot_fulfillment.adapters.orm import saga_transitions, sagas
from bitloot_runtime.service import ServiceRuntime


async def saga_that(
    runtime: ServiceRuntime, state: str, started: datetime, moved: datetime
) -> UUID:
    """A saga started at `started` (payment finished) that reached `state` at `moved`."""
    order_id = uuid4()
    async with runtime.engine.begin() as connection:
        await connection.execute(
            insert(sagas).values(
                order_id=order_id,
                customer_email="buyer@example.com",
                state=state,
                created_at=started,
                updated_at=moved,
            )
        )
        await connection.execute(
            insert(saga_transitions).values(order_id=order_id, to_state=state, at=moved)
        )
    return order_id


async def test_time_to_key_and_outcomes_are_aggregated_per_hour_and_over_the_window(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    now = datetime.now(UTC)
    started = now - timedelta(minutes=10)
    for seconds in (2, 4, 100):
        await saga_that(runtime, "fulfilled", started, started + timedelta(seconds=seconds))
    # A week-old order is outside a day's window.
    old = now - timedelta(days=6)
    await saga_that(runtime, "fulfilled", old, old + timedelta(seconds=500))
    stuck = await saga_that(
        runtime, "reserving", now - timedelta(hours=3), now - timedelta(hours=2)
    )
    failed = await failed_order(runtime)

    async with client(app) as http:
        day = await http.get(
            "/internal/stats", params={"since": (now - timedelta(days=1)).isoformat()}
        )
        week = await http.get(
            "/internal/stats", params={"since": (now - timedelta(days=7)).isoformat()}
        )
    assert day.status_code == 200, day.text
    figures = day.json()
    assert figures["window"] == {
        "fulfilled": 3,
        "failed": 1,
        "time_to_key_p50_seconds": 4.0,
        "time_to_key_p99_seconds": pytest.approx(98.08),
    }
    assert sum(hour["fulfilled"] for hour in figures["hours"]) == 3
    assert sum(hour["failed"] for hour in figures["hours"]) == 1
    for hour in figures["hours"]:
        at = datetime.fromisoformat(hour["hour"])
        assert (at.minute, at.second, at.tzinfo) == (0, 0, UTC)
    assert [i["order_id"] for i in figures["failed"]["items"]] == [str(failed)]
    assert figures["failed"]["count"] == 1
    assert figures["failed"]["items"][0]["failure_stage"] == "reservation"
    assert [i["order_id"] for i in figures["stuck"]["items"]] == [str(stuck)]
    assert figures["stuck"]["items"][0]["state"] == "reserving"
    whole_week = week.json()["window"]
    assert (whole_week["fulfilled"], whole_week["time_to_key_p50_seconds"]) == (4, 52.0)


async def test_an_empty_window_answers_zeros(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    _runtime, app = fulfillment_app
    async with client(app) as http:
        answer = await http.get("/internal/stats", params={"since": datetime.now(UTC).isoformat()})
    assert answer.json()["hours"] == []
    assert answer.json()["window"] == {
        "fulfilled": 0,
        "failed": 0,
        "time_to_key_p50_seconds": None,
        "time_to_key_p99_seconds": None,
    }


async def test_stats_need_the_internal_token_and_a_sensible_since(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    _runtime, app = fulfillment_app
    now = datetime.now(UTC).isoformat()
    for token in (None, "wrong"):
        async with client(app, token) as http:
            assert (await http.get("/internal/stats", params={"since": now})).status_code == 401
    async with client(app) as http:
        for since in (None, "yesterday"):  # every bad form: bitloot_runtime's tests
            params = {"since": since} if since else {}
            answer = await http.get("/internal/stats", params=params)
            assert (answer.status_code, answer.json()["error"]) == (422, "invalid_since"), since
