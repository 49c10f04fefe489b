"""``GET /internal/stats?since=<ISO time>``: what the admin's home page counts of
payments, per hour since `since` (at most a month ago), and what is open now.

Hours with nothing in them are left out; the admin fills the gaps."""

from uuid import UUID

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bitloot_payments.entrypoints.edge import Edge
from bitloot_payments.entrypoints.views import Attributes, Utc
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import answer, parse_query
from bitloot_runtime.internal import StatsQuery
from bitloot_runtime.openapi import ApiRoute


class HourCounts(BaseModel):
    hour: Utc
    placed: int
    paid: int
    failed: int
    refunds_due: int


class OpenItem(Attributes):
    """An open flag or a refund still owed: what the admin's "needs action" links to."""

    id: int
    order_id: UUID | None
    kind: str
    at: Utc


class OpenItems(Attributes):
    """How many, and the newest 20."""

    count: int
    items: list[OpenItem]


class Stats(Attributes):
    since: Utc
    hours: list[HourCounts]
    open_flags: OpenItems
    refunds_owed: OpenItems


async def stats(request: Request) -> Response:
    since = parse_query(StatsQuery, request).since
    found = await dependencies(request, Edge).read_stats(since)
    hours = [{"hour": hour, **counts} for hour, counts in sorted(found.hours.items())]
    return answer(Stats.model_validate({**vars(found), "since": since, "hours": hours}))


ROUTES = [
    ApiRoute(
        "/internal/stats",
        stats,
        summary="What the admin's home page counts: per hour since `since` (hours with "
        "nothing left out), orders placed, paid and failed (payment failed or expired) and "
        "refunds falling due; and now, open flags and refunds owed (count, newest 20).",
        response=Stats,
        query=StatsQuery,
    )
]
