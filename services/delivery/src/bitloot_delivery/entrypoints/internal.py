"""Delivery's internal API for the admin service (token-guarded by the runtime):
``GET /internal/deliveries/{order_id}`` and ``GET /internal/orders/{order_id}/timeline``."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_delivery.adapters.views import delivery_summary, timeline
from bitloot_runtime.http import HttpError


def _order_id(request: Request) -> UUID:
    raw = str(request.path_params["order_id"])
    try:
        return UUID(raw)
    except ValueError:
        raise HttpError(422, "invalid_order_id", f"{raw!r} is not a UUID.") from None


def internal_routes(engine: AsyncEngine) -> list[BaseRoute]:
    async def delivery(request: Request) -> Response:
        order_id = _order_id(request)
        summary = await delivery_summary(engine, order_id)
        if summary is None:
            raise HttpError(404, "delivery_not_found", f"No delivery for order {order_id}.")
        return JSONResponse(summary)

    async def order_timeline(request: Request) -> Response:
        order_id = _order_id(request)
        items = [
            {
                "at": item.at.isoformat(),
                "kind": item.kind,
                "summary": item.summary,
                "data": item.data,
            }
            for item in await timeline(engine, order_id)
        ]
        return JSONResponse({"order_id": str(order_id), "items": items})

    return [
        Route("/internal/deliveries/{order_id}", delivery, methods=["GET"]),
        Route("/internal/orders/{order_id}/timeline", order_timeline, methods=["GET"]),
    ]
