"""``GET /internal/stats?since=<ISO time>``: what the admin's home page counts of
fulfillment, per hour since `since` (at most a month ago) and over the whole window
(time-to-key p50/p99 in seconds: the saga's start, when payment finished, to fulfilled),
and the orders waiting for an admin (failed; stuck past the deadline `policy.max_age`).

Hours with nothing in them are left out; the admin fills the gaps."""

from datetime import UTC
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_fulfillment.adapters.unit_of_work import FulfillmentUnitOfWork
from bitloot_fulfillment.domain.stats import Hour, WaitingOrders
from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_fulfillment.handlers.stats import ReadStats
from bitloot_runtime.internal import stats_since
from bitloot_runtime.service import ServiceRuntime


def _hour(hour: Hour) -> dict[str, Any]:
    return {
        "fulfilled": hour.fulfilled,
        "failed": hour.failed,
        "time_to_key_p50_seconds": hour.p50_seconds,
        "time_to_key_p99_seconds": hour.p99_seconds,
    }


def _waiting(found: WaitingOrders) -> dict[str, Any]:
    return {
        "count": found.count,
        "items": [
            {
                "order_id": str(item.order_id),
                "state": item.state,
                "failure_stage": item.failure_stage,
                "since": item.since.astimezone(UTC).isoformat(),
            }
            for item in found.items
        ],
    }


def stats_routes(runtime: ServiceRuntime, policy: TimerPolicy) -> list[Route]:
    read_stats = ReadStats(runtime.units_of_work(FulfillmentUnitOfWork), policy.max_age)

    async def stats(request: Request) -> Response:
        since = stats_since(request)
        found = await read_stats(since)
        hours = [
            {"hour": hour.hour.astimezone(UTC).isoformat(), **_hour(hour)}
            for hour in found.hours
            if hour.hour is not None
        ]
        return JSONResponse(
            {
                "since": since.astimezone(UTC).isoformat(),
                "hours": hours,
                "window": _hour(found.window),
                "failed": _waiting(found.failed),
                "stuck": _waiting(found.stuck),
            }
        )

    return [Route("/internal/stats", stats, methods=["GET"])]
