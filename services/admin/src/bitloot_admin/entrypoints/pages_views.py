"""Pages of what the services know: the listings, dead letters, health and the audit."""

import json
from urllib.parse import urlencode

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.cells import row_cells
from bitloot_admin.domain.listings import (
    LISTINGS,
    BadFilter,
    Listing,
    chosen_filters,
    columns,
)
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.params import (
    AuditQuery,
    DeadLetterQuery,
    ListingQuery,
    problem,
)
from bitloot_admin.entrypoints.render import page
from bitloot_admin.handlers.audit import ReadAudit
from bitloot_admin.handlers.health import CheckHealth
from bitloot_admin.handlers.listings import ShowListing
from bitloot_runtime.http import HttpError, parse_query
from bitloot_runtime.idempotency import Endpoint


def routes(web: AdminWeb) -> list[BaseRoute]:
    return [
        *(Route(f"/{name}", _listing(web, listing)) for name, listing in LISTINGS.items()),
        Route("/dead-letters", _dead_letters(web), methods=["GET"]),
        Route("/health", _health(web), methods=["GET"]),
        Route("/audit", _audit(web), methods=["GET"]),
    ]


def cells(items: list[dict[str, JsonValue]]) -> tuple[list[str], list[list[str]]]:
    """A table of `items`: its header and each row's cells as text."""
    header = columns(items)
    rows = [[_text(item.get(name)) for name in header] for item in items]
    return header, rows


def _text(value: JsonValue) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _error(web: AdminWeb, request: Request, exc: HttpError) -> Response:
    return page(web, request, "error.html", {"error": problem(exc)}, exc.status)


def _listing(web: AdminWeb, listing: Listing) -> Endpoint:
    async def listed(request: Request) -> Response:
        try:
            filters = chosen_filters(listing, request.query_params)
            limit = parse_query(ListingQuery, request).limit
        except BadFilter as exc:
            return _error(web, request, HttpError(422, "invalid_filter", str(exc)))
        except HttpError as exc:
            return _error(web, request, exc)
        found = await ShowListing(web.upstream)(listing, filters, limit)
        header = columns(found.items, listing.hidden)
        # Ids lead to the pages of what they name; times, statuses, counts and amounts
        # are formatted by the template's filters (`formats`).
        rows = [row_cells(listing, header, item, found.titles) for item in found.items]
        kept = {k: v for k, v in filters.items() if k != listing.page_param}
        next_link = (
            f"/admin/{listing.name}?" + urlencode({**kept, "limit": str(limit), **found.next})
            if found.next
            else None
        )
        context = {
            "listing": listing,
            "filters": kept,
            "header": header,
            "rows": rows,
            "items": found.items,
            "partial": found.partial,
            "next_link": next_link,
        }
        return page(web, request, "listing.html", context)

    return listed


def _dead_letters(web: AdminWeb) -> Endpoint:
    async def dead_letters(request: Request) -> Response:
        try:
            query = parse_query(DeadLetterQuery, request)
        except HttpError as exc:
            return _error(web, request, exc)
        include = query.replayed_too
        found = await web.dead_letters(include, query.limit)
        context = {"letters": found.items, "partial": found.partial, "include_replayed": include}
        return page(web, request, "dead_letters.html", context)

    return dead_letters


def _health(web: AdminWeb) -> Endpoint:
    async def checked(request: Request) -> Response:
        report = await CheckHealth(web.upstream, web.bus, web.timeout)()
        context = {"report": report, "partial": report.partial}
        return page(web, request, "health.html", context)

    return checked


def _audit(web: AdminWeb) -> Endpoint:
    async def audited(request: Request) -> Response:
        try:
            wanted = parse_query(AuditQuery, request)
        except HttpError as exc:
            return _error(web, request, exc)
        found = await ReadAudit(web.work)(**wanted.model_dump())
        named = {"username": wanted.username, "action": wanted.action}
        kept = {name: value for name, value in named.items() if value}
        last = found[-1].id if len(found) == wanted.limit else None
        next_link = "/admin/audit?" + urlencode({**kept, "before": last}) if last else None
        return page(web, request, "audit.html", {"records": found, "next_link": next_link})

    return audited
