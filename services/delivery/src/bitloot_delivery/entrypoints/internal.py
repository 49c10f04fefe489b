"""Delivery's internal API for the admin service (token-guarded by the runtime):

- ``GET /internal/deliveries/{order_id}``: the delivery's summary;
- ``GET /internal/orders/{order_id}/timeline``: what delivery did, for the merged timeline;
- ``GET /internal/orders/{order_id}/audit``: the key audit (reveals and key events);
- ``GET /internal/orders/{order_id}/emails``: the email log (a delay notice included,
  which may exist before the order has a delivery);
- ``POST /internal/orders/{order_id}/link``: a fresh link, in the answer;
- ``POST /internal/orders/{order_id}/emails``: email a fresh link to the order's address;
- ``GET /internal/orders/{order_id}/object-url?ttl_seconds=…``: a presigned GET of the
  ciphertext (at most 7 days).

The acting admin is named by the ``X-Bitloot-Actor`` header, for the audit.
"""

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_delivery.adapters.object_store import MAX_PRESIGN_SECONDS
from bitloot_delivery.adapters.views import delivery_summary, email_log, key_audit, timeline
from bitloot_delivery.entrypoints.pages import visitor_of
from bitloot_delivery.entrypoints.public import (
    NO_STORE,
    UNAVAILABLE,
    link_answer,
    order_id_of,
    unavailable,
)
from bitloot_delivery.handlers.links import IssueLink, ResendLink
from bitloot_delivery.handlers.object_url import PresignObject
from bitloot_runtime.http import HttpError, whole_number

DEFAULT_PRESIGN_SECONDS = 3600


def _actor(request: Request) -> str:
    return "admin:" + (request.headers.get("x-bitloot-actor") or "unknown")[:128]


def _ttl(request: Request) -> int:
    raw = request.query_params.get("ttl_seconds", str(DEFAULT_PRESIGN_SECONDS))
    ttl = whole_number(raw, MAX_PRESIGN_SECONDS)
    if ttl is None or ttl < 1:
        raise HttpError(
            422,
            "invalid_ttl",
            f"ttl_seconds must be a whole number from 1 to {MAX_PRESIGN_SECONDS} (7 days).",
            [{"field": "ttl_seconds", "problem": "out_of_range"}],
        )
    return ttl


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _json_value(value) for name, value in row.items()}


def _json_value(value: object) -> object:
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else value


def _listing(
    engine: AsyncEngine, read: Callable[[AsyncEngine, UUID], Any], field: str
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        order_id = order_id_of(request)
        rows = await read(engine, order_id)
        return JSONResponse({"order_id": str(order_id), field: [_jsonable(r) for r in rows]})

    return endpoint


PREFIX = "/internal/orders/{order_id}"


def internal_routes(
    engine: AsyncEngine, issue: IssueLink, resend_link: ResendLink, presign: PresignObject
) -> list[BaseRoute]:
    """The read-only views, then the admin actions."""

    async def delivery(request: Request) -> Response:
        order_id = order_id_of(request)
        summary = await delivery_summary(engine, order_id)
        if summary is None:
            raise HttpError(404, "delivery_not_found", f"No delivery for order {order_id}.")
        return JSONResponse(summary)

    async def order_timeline(request: Request) -> Response:
        order_id = order_id_of(request)
        items = [
            {"at": i.at.isoformat(), "kind": i.kind, "summary": i.summary, "data": i.data}
            for i in await timeline(engine, order_id)
        ]
        return JSONResponse({"order_id": str(order_id), "items": items})

    return [
        Route("/internal/deliveries/{order_id}", delivery, methods=["GET"]),
        Route(f"{PREFIX}/timeline", order_timeline, methods=["GET"]),
        Route(f"{PREFIX}/audit", _listing(engine, key_audit, "items"), methods=["GET"]),
        Route(f"{PREFIX}/emails", _listing(engine, email_log, "emails"), methods=["GET"]),
        *_admin_actions(issue, resend_link, presign),
    ]


def _admin_actions(
    issue: IssueLink, resend_link: ResendLink, presign: PresignObject
) -> list[BaseRoute]:
    async def issue_link(request: Request) -> Response:
        order_id = order_id_of(request)
        try:
            issued = await issue(order_id, _actor(request), visitor_of(request))
        except UNAVAILABLE as exc:
            raise unavailable(exc, order_id) from None
        return link_answer(order_id, issued.url, issued.expires_at.isoformat())

    async def resend(request: Request) -> Response:
        order_id = order_id_of(request)
        try:
            email_id = await resend_link(order_id, _actor(request))
        except UNAVAILABLE as exc:
            raise unavailable(exc, order_id) from None
        return JSONResponse({"order_id": str(order_id), "email_id": email_id}, status_code=202)

    async def object_url(request: Request) -> Response:
        order_id, ttl = order_id_of(request), _ttl(request)
        try:
            presigned = await presign(order_id, ttl, _actor(request))
        except UNAVAILABLE as exc:
            raise unavailable(exc, order_id) from None
        body = {"url": presigned.url, "expires_at": presigned.expires_at.isoformat()}
        return JSONResponse(body, headers=NO_STORE)

    return [
        Route(f"{PREFIX}/emails", resend, methods=["POST"]),
        Route(f"{PREFIX}/link", issue_link, methods=["POST"]),
        Route(f"{PREFIX}/object-url", object_url, methods=["GET"]),
    ]
