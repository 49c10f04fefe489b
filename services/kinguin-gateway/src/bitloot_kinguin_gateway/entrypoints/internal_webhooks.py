"""The webhook log in the internal API: list, detail, and replay of a logged call."""

import base64
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response

from bitloot_kinguin_gateway.adapters.webhook_log import LoggedWebhook, WebhookFilter
from bitloot_kinguin_gateway.entrypoints.edge import Edge
from bitloot_kinguin_gateway.handlers import webhooks
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import MAX_BIGINT, HttpError, Moment, QueryFlag, answer, parse_query
from bitloot_runtime.openapi import ApiRoute
from bitloot_runtime.paging import Page, PageQuery, offset_page


class WebhookQuery(PageQuery):
    """``GET /internal/webhooks``."""

    refusal = "invalid_filter"

    order_id: UUID | None = None
    event_name: str | None = None
    authenticated: QueryFlag | None = None
    duplicate: QueryFlag | None = None


class WebhookSummary(BaseModel):
    """A logged call, without its headers and body."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: Moment
    event_name: str | None
    kinguin_order_id: str | None
    order_external_id: str | None
    order_id: UUID | None
    status: str | None
    updated_at: Moment | None
    authenticated: bool
    duplicate: bool
    applied: bool
    note: str | None


class WebhookDetail(WebhookSummary):
    """The summary with the headers (secrets redacted when logged) and the raw body, as
    text (`raw_body`) when it is UTF-8, else base64 (`raw_body_base64`)."""

    headers: dict[str, str]
    raw_body: str | None = None
    raw_body_base64: str | None = None


async def listing(request: Request) -> Response:
    query = parse_query(WebhookQuery, request)
    matching = WebhookFilter(
        order_id=query.order_id,
        event_name=query.event_name,
        authenticated=query.authenticated,
        duplicate=query.duplicate,
    )
    async with dependencies(request, Edge).unit_of_work() as uow:
        found = await uow.webhooks.search(matching, limit=query.limit, offset=query.offset())
    return answer(offset_page([WebhookSummary.model_validate(call) for call in found], query))


async def detail(request: Request) -> Response:
    row_id = _row_id(request)
    async with dependencies(request, Edge).unit_of_work() as uow:
        found = await uow.webhooks.get(row_id)
    if found is None:
        raise _not_found(row_id)
    return answer(_full(found), exclude_unset=True)


async def replay(request: Request) -> Response:
    row_id = _row_id(request)
    async with dependencies(request, Edge).unit_of_work() as uow:
        settled = await webhooks.ReplayWebhook()(row_id, uow)
        await uow.commit()
    if settled is None:
        raise _not_found(row_id)
    return answer(WebhookSummary.model_validate(settled))


def _full(call: LoggedWebhook) -> WebhookDetail:
    summary = WebhookSummary.model_validate(call)
    try:
        body = {"raw_body": call.raw_body.decode()}
    except UnicodeDecodeError:
        body = {"raw_body_base64": base64.b64encode(call.raw_body).decode()}
    return WebhookDetail(**vars(summary), headers=call.headers, **body)


def _row_id(request: Request) -> int:
    """The logged call's id in the path; 404 past the largest id the log can hold."""
    row_id: int = request.path_params["webhook_id"]
    if row_id > MAX_BIGINT:
        raise _not_found(row_id)
    return row_id


def _not_found(row_id: int) -> HttpError:
    return HttpError(404, "webhook_not_found", f"No logged webhook {row_id}.")


_NO_CALL = {"404": "No such call (`webhook_not_found`)."}

ROUTES = [
    ApiRoute(
        "/internal/webhooks",
        listing,
        summary="Logged webhook calls, newest first.",
        response=Page[WebhookSummary],
        query=WebhookQuery,
    ),
    ApiRoute(
        "/internal/webhooks/{webhook_id:int}",
        detail,
        summary="One logged call with its headers (secrets redacted) and raw body.",
        response=WebhookDetail,
        refusals=_NO_CALL,
    ),
    ApiRoute(
        "/internal/webhooks/{webhook_id:int}/replay",
        replay,
        method="POST",
        summary="Apply a logged, authenticated `order.status` call again.",
        success="The call as settled.",
        response=WebhookSummary,
        refusals={**_NO_CALL, "409": "Not replayable; `error` says why."},
    ),
]
