"""The admin's JSON API under ``/admin/api/``: what the services know, aggregated. Each
answer names in ``partial`` the services that did not answer; none of them is a 500.
The repair actions are in `api_actions`."""

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.health import KinguinBalance
from bitloot_admin.domain.listings import LISTINGS, BadFilter, Listing, chosen_filters
from bitloot_admin.entrypoints import api_actions, api_refunds
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.params import (
    audit_filter,
    item_id,
    order_filter,
    order_id,
    row_id,
)
from bitloot_admin.handlers.audit import ReadAudit
from bitloot_admin.handlers.health import CheckHealth
from bitloot_admin.handlers.listings import Found, ShowDocument, ShowListing
from bitloot_admin.handlers.orders import ListOrders, OrderNotFound, ShowOrder
from bitloot_contracts.topics import DELIVERY, KINGUIN_GATEWAY, PAYMENTS
from bitloot_runtime.http import HttpError
from bitloot_runtime.internal import page_limit

Endpoint = Callable[[Request], Awaitable[Response]]


def routes(web: AdminWeb) -> list[BaseRoute]:
    return [
        Route("/api/orders", _orders(web), methods=["GET"]),
        Route("/api/orders/{order_id}", _order(web), methods=["GET"]),
        Route(
            "/api/orders/{order_id}/key-audit", _document(web, DELIVERY, "audit"), methods=["GET"]
        ),
        Route("/api/orders/{order_id}/emails", _document(web, DELIVERY, "emails"), methods=["GET"]),
        *(
            Route(f"/api/{name}", _listing(web, listing), methods=["GET"])
            for name, listing in LISTINGS.items()
        ),
        Route("/api/payments/{item_id}", _detail(web, PAYMENTS, "payments"), methods=["GET"]),
        Route(
            "/api/webhooks/{item_id:int}",
            _detail(web, KINGUIN_GATEWAY, "webhooks"),
            methods=["GET"],
        ),
        Route("/api/flags/{flag_id}", _row(web, "flags", "flag"), methods=["GET"]),
        Route("/api/ipns/{ipn_id}", _row(web, "ipns", "ipn"), methods=["GET"]),
        Route("/api/dead-letters", _dead_letters(web), methods=["GET"]),
        Route("/api/health", _health(web), methods=["GET"]),
        Route("/api/audit", _audit(web), methods=["GET"]),
        *api_actions.routes(web),
        *api_refunds.routes(web),
    ]


def _orders(web: AdminWeb) -> Endpoint:
    async def orders(request: Request) -> Response:
        found = await ListOrders(web.upstream)(order_filter(request))
        items = [row.model_dump(mode="json") for row in found.items]
        return JSONResponse({"items": items, "next": found.next, "partial": found.partial})

    return orders


def _order(web: AdminWeb) -> Endpoint:
    async def order(request: Request) -> Response:
        wanted = order_id(request)
        try:
            view = await ShowOrder(web.upstream, web.work)(wanted)
        except OrderNotFound as exc:
            raise HttpError(404, "order_not_found", str(exc)) from None
        return JSONResponse(
            {
                "order": view.order.model_dump(mode="json") if view.order else None,
                "customer_status": view.customer_status,
                "fulfillment": view.saga.model_dump(mode="json") if view.saga else None,
                "open_flags": [flag.model_dump(mode="json") for flag in view.flags],
                "timeline": [event.model_dump(mode="json") for event in view.timeline],
                "partial": view.partial,
            }
        )

    return order


def _document(web: AdminWeb, service: str, leaf: str) -> Endpoint:
    """An order's document at `service` (``/internal/orders/{id}/<leaf>``)."""

    async def document(request: Request) -> Response:
        path = f"/internal/orders/{order_id(request)}/{leaf}"
        return _found(await ShowDocument(web.upstream)(service, path))

    return document


def _detail(web: AdminWeb, service: str, collection: str) -> Endpoint:
    async def detail(request: Request) -> Response:
        path = f"/internal/{collection}/{item_id(request, collection)}"
        return _found(await ShowDocument(web.upstream)(service, path))

    return detail


def _row(web: AdminWeb, collection: str, what: str) -> Endpoint:
    """A row of payments' `collection` (a flag, an IPN) by its numeric id."""

    async def row(request: Request) -> Response:
        path = f"/internal/{collection}/{row_id(request, f'{what}_id', what)}"
        return _found(await ShowDocument(web.upstream)(PAYMENTS, path))

    return row


def _found(found: Found) -> Response:
    document, partial = found.document, found.partial
    if document is None and not partial:
        raise HttpError(404, "not_found", "The service knows no such thing.")
    return JSONResponse({"item": document, "partial": partial})


def _listing(web: AdminWeb, listing: Listing) -> Endpoint:
    async def listed(request: Request) -> Response:
        try:
            filters = chosen_filters(listing, request.query_params)
        except BadFilter as exc:
            raise HttpError(
                422,
                "invalid_filter",
                str(exc),
                [{"field": exc.name, "code": "invalid", "error": str(exc)}],
            ) from None
        page = await ShowListing(web.upstream)(listing, filters, page_limit(request))
        return JSONResponse({"items": page.items, "next": page.next, "partial": page.partial})

    return listed


def _dead_letters(web: AdminWeb) -> Endpoint:
    async def dead_letters(request: Request) -> Response:
        include = request.query_params.get("include_replayed") == "true"
        found = await web.repairs.dead_letters(include, page_limit(request))
        return JSONResponse({"items": found.items, "partial": found.partial})

    return dead_letters


def _health(web: AdminWeb) -> Endpoint:
    async def checked(_request: Request) -> Response:
        report = await CheckHealth(web.upstream, web.bus, web.timeout)()
        return JSONResponse(
            {
                "services": [
                    {
                        "service": s.service,
                        "ready": s.ready,
                        "checks": s.checks,
                        "outbox": asdict(s.outbox) if s.outbox else None,
                    }
                    for s in report.services
                ],
                "queues": [asdict(q) for q in report.queues],
                "kinguin_balance": _balance(report.balance),
                "partial": report.partial,
            }
        )

    return checked


def _balance(balance: KinguinBalance) -> dict[str, Any]:
    """Amounts in EUR as decimal strings, times in ISO-8601."""

    def plain(value: object) -> object:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        return value.isoformat() if isinstance(value, datetime) else value

    return {name: plain(value) for name, value in asdict(balance).items()}


def _audit(web: AdminWeb) -> Endpoint:
    async def audited(request: Request) -> Response:
        wanted = audit_filter(request)
        found = await ReadAudit(web.work)(**wanted)
        items = [
            {
                "id": r.id,
                "at": r.at.isoformat(),
                "username": r.username,
                "action": r.action,
                "target": r.target,
                "outcome": r.outcome,
                "detail": r.detail,
            }
            for r in found
        ]
        last = found[-1].id if len(found) == wanted["limit"] else None
        return JSONResponse({"items": items, "next": {"before": str(last)} if last else None})

    return audited
