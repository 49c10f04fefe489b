"""The webhook log in the internal API: list, detail, and replay of a logged call."""

import base64
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_kinguin_gateway.adapters.unit_of_work import GatewayUnitOfWork
from bitloot_kinguin_gateway.adapters.webhook_log import LoggedWebhook, WebhookFilter, WebhookLog
from bitloot_kinguin_gateway.entrypoints.paging import bool_param, page, page_offset, uuid_param
from bitloot_kinguin_gateway.handlers import webhooks
from bitloot_runtime.http import MAX_BIGINT, HttpError
from bitloot_runtime.internal import page_limit


def webhook_log_routes(unit_of_work: Callable[[], GatewayUnitOfWork]) -> list[Route]:
    """``GET /internal/webhooks`` (filters: order_id, event_name, authenticated,
    duplicate), ``GET /internal/webhooks/{id}`` and ``POST .../{id}/replay``."""

    async def listing(request: Request) -> Response:
        limit, offset = page_limit(request), page_offset(request)
        matching = WebhookFilter(
            order_id=uuid_param(request, "order_id"),
            event_name=request.query_params.get("event_name"),
            authenticated=bool_param(request, "authenticated"),
            duplicate=bool_param(request, "duplicate"),
        )
        async with unit_of_work() as uow:
            found = await WebhookLog(uow).search(matching, limit=limit, offset=offset)
        return JSONResponse(page([summary(call) for call in found], limit, offset))

    async def detail(request: Request) -> Response:
        row_id = _row_id(request)
        async with unit_of_work() as uow:
            found = await WebhookLog(uow).get(row_id)
        if found is None:
            raise _not_found(row_id)
        return JSONResponse(full(found))

    async def replay(request: Request) -> Response:
        row_id = _row_id(request)
        async with unit_of_work() as uow:
            try:
                settled = await webhooks.ReplayWebhook()(row_id, uow)
            except webhooks.NotReplayable as exc:
                raise HttpError(409, exc.code, str(exc)) from None
            await uow.commit()
        if settled is None:
            raise _not_found(row_id)
        return JSONResponse(summary(settled))

    return [
        Route("/internal/webhooks", listing, methods=["GET"]),
        Route("/internal/webhooks/{webhook_id:int}", detail, methods=["GET"]),
        Route("/internal/webhooks/{webhook_id:int}/replay", replay, methods=["POST"]),
    ]


def summary(call: LoggedWebhook) -> dict[str, Any]:
    return {
        "id": call.id,
        "received_at": call.received_at.isoformat(),
        "event_name": call.event_name,
        "kinguin_order_id": call.kinguin_order_id,
        "order_external_id": call.order_external_id,
        "order_id": str(call.order_id) if call.order_id else None,
        "status": call.status,
        "updated_at": call.updated_at.isoformat() if call.updated_at else None,
        "authenticated": call.authenticated,
        "duplicate": call.duplicate,
        "applied": call.applied,
        "note": call.note,
    }


def full(call: LoggedWebhook) -> dict[str, Any]:
    """The summary with the headers (secrets redacted when logged) and the raw body,
    as text when it is UTF-8, else base64."""
    try:
        body: dict[str, str] = {"raw_body": call.raw_body.decode()}
    except UnicodeDecodeError:
        body = {"raw_body_base64": base64.b64encode(call.raw_body).decode()}
    return {**summary(call), "headers": call.headers, **body}


def _row_id(request: Request) -> int:
    """The logged call's id in the path; 404 past the largest id the log can hold."""
    row_id: int = request.path_params["webhook_id"]
    if row_id > MAX_BIGINT:
        raise _not_found(row_id)
    return row_id


def _not_found(row_id: int) -> HttpError:
    return HttpError(404, "webhook_not_found", f"No logged webhook {row_id}.")
