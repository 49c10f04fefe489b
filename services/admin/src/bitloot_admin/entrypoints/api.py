"""The admin's JSON API under ``/admin/api/``: what the services know, aggregated. Each
answer names in ``partial`` the services that did not answer; none of them is a 500.
Each endpoint takes the admin's `AdminWeb` from the app state; `ROUTES` declares them
with their models, from which the OpenAPI document is generated (`openapi`). The repair
actions are in `api_actions`, the refunds in `api_refunds`."""

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, JsonValue, create_model
from starlette.requests import Request
from starlette.responses import Response

from bitloot_admin.domain.health import KinguinBalance
from bitloot_admin.domain.listings import LISTINGS, BadFilter, Listing, chosen_filters
from bitloot_admin.domain.views import Event, FlagSummary, OrderDetail, OrderRow, Saga
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.openapi import NOT_FOUND, ORDER_404, route
from bitloot_admin.entrypoints.params import (
    AuditQuery,
    DeadLetterQuery,
    ListingQuery,
    OrderQuery,
    item_id,
    order_id,
    row_id,
)
from bitloot_admin.handlers.audit import ReadAudit
from bitloot_admin.handlers.health import CheckHealth
from bitloot_admin.handlers.listings import ShowDocument, ShowListing
from bitloot_admin.handlers.orders import ListOrders, ShowOrder
from bitloot_contracts.topics import DELIVERY, KINGUIN_GATEWAY, PAYMENTS
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, Moment, answer, parse_query
from bitloot_runtime.openapi import ApiRoute


class Partial(BaseModel):
    partial: list[str] = Field(description="Services that did not answer.")


class Orders(Partial):
    items: list[OrderRow]
    next: str | None = Field(description="The `cursor` of the next page, or null.")


class OrderAnswer(Partial):
    order: OrderDetail | None
    customer_status: str | None
    fulfillment: Saga | None
    open_flags: list[FlagSummary]
    timeline: list[Event]


class Document(Partial):
    item: dict[str, JsonValue] | None = Field(description="Null when its service is down.")


class Listed(Partial):
    items: list[dict[str, JsonValue]]
    next: dict[str, str] | None = Field(description="Query parameters of the next page.")


class DeadLetterList(Partial):
    items: list[dict[str, JsonValue]]


class ServiceState(BaseModel):
    service: str
    ready: bool
    checks: dict[str, JsonValue]
    outbox: dict[str, float | None] | None


class HealthReport(Partial):
    services: list[ServiceState]
    queues: list[dict[str, JsonValue]]
    kinguin_balance: dict[str, JsonValue] = Field(
        description="In EUR as decimal strings, times in ISO-8601; `state` `ok`, `low` or "
        "`unknown` (`error` says why), `stale` when its last read failed."
    )


class AuditItem(BaseModel):
    id: int
    at: Moment
    username: str
    action: str
    target: str | None
    outcome: str
    detail: dict[str, JsonValue]


class AuditPage(BaseModel):
    items: list[AuditItem]
    next: dict[str, str] | None = Field(description="`{before}` of the next page, or null.")


def _web(request: Request) -> AdminWeb:
    return dependencies(request, AdminWeb)


async def list_orders(request: Request) -> Response:
    found = await ListOrders(_web(request).upstream)(parse_query(OrderQuery, request).chosen())
    return answer(Orders(items=found.items, next=found.next, partial=found.partial))


async def show_order(request: Request) -> Response:
    web = _web(request)
    view = await ShowOrder(web.upstream, web.work)(order_id(request))
    return answer(
        OrderAnswer(
            order=view.order,
            customer_status=view.customer_status,
            fulfillment=view.saga,
            open_flags=view.flags,
            timeline=view.timeline,
            partial=view.partial,
        )
    )


def _document(path: str, service: str, where: Callable[[Request], str], summary: str) -> ApiRoute:
    """`service`'s document at the path `where` makes of the request, ``{item, partial}``."""

    async def shown(request: Request) -> Response:
        found = await ShowDocument(_web(request).upstream)(service, where(request))
        if found.document is None and not found.partial:
            raise HttpError(404, "not_found", "The service knows no such thing.")
        return answer(Document(item=found.document, partial=found.partial))

    return route(path, shown, summary=summary, response=Document, refusals=NOT_FOUND)


def _listing(listing: Listing) -> ApiRoute:
    async def listed(request: Request) -> Response:
        try:
            filters = chosen_filters(listing, request.query_params)
        except BadFilter as exc:
            fields = [{"field": exc.name, "code": "invalid", "error": str(exc)}]
            raise HttpError(422, "invalid_filter", str(exc), fields) from None
        limit = parse_query(ListingQuery, request).limit
        page = await ShowListing(_web(request).upstream)(listing, filters, limit)
        return answer(Listed(items=page.items, next=page.next, partial=page.partial))

    # Its filters, declared for the description; `chosen_filters` reads them.
    filters: dict[str, Any] = dict.fromkeys(listing.filters, (str | None, None))
    filters[listing.page_param] = (str | None, Field(None, description="Of `next`."))
    query = create_model(f"{listing.name}_query", __base__=ListingQuery, **filters)
    return route(
        f"/api/{listing.name}",
        listed,
        summary=f"{listing.title} ({listing.service}).",
        response=Listed,
        query=query,
        refusals={"422": "A bad filter (`invalid_filter`) or `limit`."},
    )


async def dead_letters(request: Request) -> Response:
    query = parse_query(DeadLetterQuery, request)
    found = await _web(request).dead_letters(query.replayed_too, query.limit)
    return answer(DeadLetterList(items=found.items, partial=found.partial))


async def health(request: Request) -> Response:
    web = _web(request)
    report = await CheckHealth(web.upstream, web.bus, web.timeout)()
    return answer(
        HealthReport(
            services=[ServiceState(**asdict(s)) for s in report.services],
            queues=[asdict(q) for q in report.queues],
            kinguin_balance=_balance(report.balance),
            partial=report.partial,
        )
    )


def _balance(balance: KinguinBalance) -> dict[str, JsonValue]:
    """Amounts in EUR as decimal strings, times in ISO-8601."""

    def plain(value: object) -> JsonValue:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, datetime):
            return value.isoformat()
        assert value is None or isinstance(value, str | bool | int | float)
        return value

    return {name: plain(value) for name, value in asdict(balance).items()}


async def audit(request: Request) -> Response:
    query = parse_query(AuditQuery, request)
    found = await ReadAudit(_web(request).work)(**query.model_dump())
    items = [AuditItem.model_validate(record, from_attributes=True) for record in found]
    last = found[-1].id if len(found) == query.limit else None
    return answer(AuditPage(items=items, next={"before": str(last)} if last else None))


ROUTES = [
    route(
        "/api/orders",
        list_orders,
        summary="Orders, newest first: by id, e-mail, day (YYYY-MM-DD), the statuses the list "
        "shows (payment, fulfilment, refund, customer) or a preset (needs_action, failed, "
        "stuck, refund_due); `status` is the order's own status. A value outside a filter's "
        "enum is refused with 422 `invalid_<filter>`. Cursor pagination.",
        response=Orders,
        query=OrderQuery,
    ),
    route(
        "/api/orders/{order_id}",
        show_order,
        summary="An order and its timeline across every service.",
        response=OrderAnswer,
        refusals=ORDER_404,
    ),
    _document(
        "/api/orders/{order_id}/key-audit",
        DELIVERY,
        lambda request: f"/internal/orders/{order_id(request)}/audit",
        "Delivery's key audit of an order.",
    ),
    _document(
        "/api/orders/{order_id}/emails",
        DELIVERY,
        lambda request: f"/internal/orders/{order_id(request)}/emails",
        "Delivery's email log of an order.",
    ),
    *(_listing(listing) for listing in LISTINGS.values()),
    _document(
        "/api/payments/{item_id}",
        PAYMENTS,
        lambda request: f"/internal/payments/{item_id(request, 'payments')}",
        "A payment with its IPN history and flags.",
    ),
    _document(
        "/api/webhooks/{item_id:int}",
        KINGUIN_GATEWAY,
        lambda request: f"/internal/webhooks/{item_id(request, 'webhooks')}",
        "One logged Kinguin webhook.",
    ),
    _document(
        "/api/flags/{flag_id}",
        PAYMENTS,
        lambda request: f"/internal/flags/{row_id(request, 'flag_id', 'flag')}",
        "A payment flag: its order's status, the decisions open to it, its refunds.",
    ),
    _document(
        "/api/ipns/{ipn_id}",
        PAYMENTS,
        lambda request: f"/internal/ipns/{row_id(request, 'ipn_id', 'ipn')}",
        "One IPN with its raw body and attempts.",
    ),
    route(
        "/api/dead-letters",
        dead_letters,
        summary="Parked messages of every service.",
        response=DeadLetterList,
        query=DeadLetterQuery,
    ),
    route(
        "/api/health",
        health,
        summary="Each service's readiness and outbox, every queue's depth and consumers, and "
        "`kinguin_balance`: the Kinguin balance as the gateway last read it.",
        response=HealthReport,
    ),
    route(
        "/api/audit",
        audit,
        summary="Audited admin actions, newest first.",
        response=AuditPage,
        query=AuditQuery,
    ),
]
