"""``GET /internal/stats?since=<ISO time>``: what the admin's home page counts of
payments, per hour since `since` (at most a month ago), and what is open now.

Hours with nothing in them are left out; the admin fills the gaps."""

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_payments.adapters.stats import OpenItems
from bitloot_payments.entrypoints.views import utc
from bitloot_payments.handlers.stats import payment_stats
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.internal import stats_since


def _open(found: OpenItems) -> dict[str, object]:
    return {
        "count": found.count,
        "items": [
            {
                "id": item.id,
                "order_id": str(item.order_id) if item.order_id else None,
                "kind": item.kind,
                "at": utc(item.at),
            }
            for item in found.items
        ],
    }


def stats_routes(unit_of_work: Callable[[], UnitOfWork]) -> list[Route]:
    async def stats(request: Request) -> Response:
        since = stats_since(request)
        found = await payment_stats(unit_of_work, since)
        hours = [{"hour": utc(hour), **counts} for hour, counts in sorted(found.hours.items())]
        return JSONResponse(
            {
                "since": utc(since),
                "hours": hours,
                "open_flags": _open(found.open_flags),
                "refunds_owed": _open(found.refunds_owed),
            }
        )

    return [Route("/internal/stats", stats, methods=["GET"])]
