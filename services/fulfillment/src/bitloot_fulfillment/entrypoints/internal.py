"""The fulfillment service's internal API, read by the admin service."""

from typing import get_args
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_contracts.events import OrderState
from bitloot_fulfillment.adapters import views
from bitloot_runtime.http import HttpError
from bitloot_runtime.internal import page_limit
from bitloot_runtime.service import ServiceRuntime

_STATES = frozenset(get_args(OrderState))


def _uuid(raw: str, field: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise HttpError(422, "invalid_order_id", f"{field} {raw!r} is not a UUID.") from None


def internal_routes(runtime: ServiceRuntime) -> list[Route]:
    """``GET /internal/sagas`` and ``GET /internal/orders/{order_id}/timeline``."""

    async def list_sagas(request: Request) -> Response:
        order_ids = [_uuid(raw, "order_id") for raw in request.query_params.getlist("order_id")]
        state = request.query_params.get("state")
        if state is not None and state not in _STATES:
            raise HttpError(422, "invalid_state", f"state {state!r} is not a saga state.")
        limit = page_limit(request, default=100)
        async with runtime.sessionmaker() as session:
            items = await views.sagas_by_id(session, order_ids, state, limit)
        return JSONResponse({"items": items})

    async def order_timeline(request: Request) -> Response:
        order_id = _uuid(request.path_params["order_id"], "order id")
        async with runtime.sessionmaker() as session:
            items = await views.timeline(session, order_id)
        return JSONResponse({"order_id": str(order_id), "items": items})

    return [
        Route("/internal/sagas", list_sagas, methods=["GET"]),
        Route("/internal/orders/{order_id}/timeline", order_timeline, methods=["GET"]),
    ]
