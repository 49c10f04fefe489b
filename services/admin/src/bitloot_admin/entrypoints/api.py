"""The admin's JSON API: ``GET /admin/api/orders`` and ``GET /admin/api/orders/{id}``."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.params import order_filter, order_id
from bitloot_admin.handlers.orders import OrderNotFound, list_orders, order_view
from bitloot_runtime.http import HttpError


def routes(web: AdminWeb) -> list[BaseRoute]:
    async def orders(request: Request) -> Response:
        found = await list_orders(web.upstream, order_filter(request))
        return JSONResponse(
            {
                "items": [row.model_dump(mode="json") for row in found.items],
                "next": found.next,
                "partial": found.partial,
            }
        )

    async def order(request: Request) -> Response:
        wanted = order_id(request)
        try:
            view = await order_view(web.upstream, web.sessionmaker, wanted)
        except OrderNotFound as exc:
            raise HttpError(404, "order_not_found", str(exc)) from None
        return JSONResponse(
            {
                "order": view.order.model_dump(mode="json") if view.order else None,
                "timeline": [event.model_dump(mode="json") for event in view.timeline],
                "partial": view.partial,
            }
        )

    return [
        Route("/api/orders", orders, methods=["GET"]),
        Route("/api/orders/{order_id}", order, methods=["GET"]),
    ]
