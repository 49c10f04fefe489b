"""``GET /internal/stats?since=<ISO time>``: what the admin's home page counts of
fulfillment, per hour since `since` (at most a month ago) and over the whole window
(time-to-key p50/p99 in seconds: the saga's start, when payment finished, to fulfilled),
and the orders waiting for an admin (failed; stuck past the deadline `policy.max_age`).

Hours with nothing in them are left out; the admin fills the gaps."""

from datetime import UTC
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from bitloot_fulfillment.entrypoints.edge import Edge
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import Moment, answer, parse_query
from bitloot_runtime.internal import StatsQuery
from bitloot_runtime.openapi import ApiRoute


class Figures(BaseModel):
    fulfilled: int
    failed: int
    time_to_key_p50_seconds: float | None = Field(validation_alias="p50_seconds")
    time_to_key_p99_seconds: float | None = Field(validation_alias="p99_seconds")


class HourFigures(Figures):
    hour: Moment


class WaitingOrder(BaseModel):
    order_id: UUID
    state: str
    failure_stage: str | None
    since: Moment


class Waiting(BaseModel):
    """How many orders wait for an admin, and the newest 20."""

    count: int
    items: list[WaitingOrder]


class Stats(BaseModel):
    """The figures; stored times are UTC (asyncpg reads them so)."""

    model_config = ConfigDict(from_attributes=True)

    since: Moment
    hours: list[HourFigures]
    window: Figures
    failed: Waiting
    stuck: Waiting


async def stats(request: Request) -> Response:
    since = parse_query(StatsQuery, request).since.astimezone(UTC)
    found = await dependencies(request, Edge).read_stats(since)
    return answer(Stats.model_validate({"since": since, **vars(found)}, from_attributes=True))


ROUTES = [
    ApiRoute(
        "/internal/stats",
        stats,
        summary="What the admin's home page counts: per hour since `since` (hours with nothing "
        "left out) and over the whole window (`window`), orders fulfilled and failed and "
        "time-to-key p50/p99 in seconds (saga start, when payment finished, to fulfilled); "
        "and now, failed orders not yet refunded and orders stuck past the deadline "
        "(count, newest 20).",
        response=Stats,
        query=StatsQuery,
    )
]
