"""Delivery's internal API for the admin service (token-guarded by the runtime): what it
did for an order (summary, timeline, key audit, email log), and the admin's actions,
the acting admin named in ``X-Bitloot-Actor`` for the audit. Endpoints take their
dependencies (`Edge`) from the app state; `edge.REFUSALS` answers the use cases' refusals.
"""

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field, JsonValue
from starlette.requests import Request
from starlette.responses import Response

from bitloot_delivery.adapters.object_store import MAX_PRESIGN_SECONDS
from bitloot_delivery.adapters.views import delivery_summary, email_log, key_audit, timeline
from bitloot_delivery.entrypoints.edge import (
    BAD_ORDER_ID,
    UNAVAILABLE,
    Edge,
    credential,
    order_id,
    visitor_of,
)
from bitloot_delivery.entrypoints.public import Link, link_answer
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, Moment, QueryModel, Whole, answer, parse_query
from bitloot_runtime.internal import Timeline, TimelineEvent
from bitloot_runtime.openapi import ApiRoute

PREFIX = "/internal/orders/{order_id}"


class DeliverySummary(BaseModel):
    order_id: UUID
    key_count: int
    stored_at: Moment
    emailed_at: Moment | None
    viewed_at: Moment | None
    purged_at: Moment | None
    kek_id: str
    revoked_at: Moment | None
    revoked_by: str | None
    revoke_note: str | None
    reveal_count: int


class AuditEntry(BaseModel):
    at: Moment
    action: str
    actor: str
    ip: str | None
    user_agent: str | None
    detail: str | None


class KeyAudit(BaseModel):
    order_id: UUID
    items: list[AuditEntry]


class EmailEntry(BaseModel):
    id: int
    kind: str
    is_preorder: bool | None
    release_date: date | None
    refund_id: int | None
    notice: dict[str, JsonValue] | None
    resend_of: int | None
    requested_by: str | None
    status: str
    attempts: int
    smtp_stage: str | None
    recovered_attempts: int
    doubtful_resends: int
    last_error: str | None
    message_id: str | None
    created_at: Moment
    claimed_at: Moment | None
    sent_at: Moment | None
    failed_at: Moment | None
    next_attempt_at: Moment


class EmailLog(BaseModel):
    order_id: UUID
    emails: list[EmailEntry]


class Queued(BaseModel):
    order_id: UUID
    email_id: int


class PresignedUrl(BaseModel):
    url: str
    expires_at: Moment


class PresignQuery(QueryModel):
    refusal = "invalid_ttl"

    ttl_seconds: Whole = Field(
        3600, ge=1, le=MAX_PRESIGN_SECONDS, description="At most 7 days, else `invalid_ttl`."
    )


def _actor(request: Request) -> str:
    return "admin:" + (request.headers.get("x-bitloot-actor") or "unknown")[:128]


async def delivery(request: Request) -> Response:
    order = order_id(request)
    summary = await delivery_summary(dependencies(request, Edge).engine, order)
    if summary is None:
        raise HttpError(404, "delivery_not_found", f"No delivery for order {order}.")
    return answer(DeliverySummary.model_validate(summary))


async def order_timeline(request: Request) -> Response:
    order = order_id(request)
    items = await timeline(dependencies(request, Edge).engine, order)
    events = [TimelineEvent.model_validate(i, from_attributes=True) for i in items]
    return answer(Timeline(order_id=str(order), items=events))


async def audit(request: Request) -> Response:
    order = order_id(request)
    rows = await key_audit(dependencies(request, Edge).engine, order)
    return answer(KeyAudit.model_validate({"order_id": order, "items": rows}))


async def emails(request: Request) -> Response:
    order = order_id(request)
    rows = await email_log(dependencies(request, Edge).engine, order)
    return answer(EmailLog.model_validate({"order_id": order, "emails": rows}))


async def issue_link(request: Request) -> Response:
    order = order_id(request)
    issued = await dependencies(request, Edge).issue(order, _actor(request), visitor_of(request))
    return link_answer(order, issued)


async def resend(request: Request) -> Response:
    order = order_id(request)
    email_id = await dependencies(request, Edge).resend_link(order, _actor(request))
    return answer(Queued(order_id=order, email_id=email_id), 202)


async def object_url(request: Request) -> Response:
    order, query = order_id(request), parse_query(PresignQuery, request)
    presign = dependencies(request, Edge).presign
    presigned = await presign(order, query.ttl_seconds, _actor(request))
    return credential(PresignedUrl.model_validate(presigned, from_attributes=True))


ACTOR = [{"name": "X-Bitloot-Actor", "in": "header", "schema": {"type": "string"}}]

ROUTES = [
    ApiRoute(
        "/internal/deliveries/{order_id}",
        delivery,
        summary="The delivery's summary.",
        response=DeliverySummary,
        refusals={**BAD_ORDER_ID, "404": "No delivery (`delivery_not_found`)."},
    ),
    ApiRoute(
        f"{PREFIX}/timeline",
        order_timeline,
        summary="What delivery did for an order.",
        response=Timeline,
        refusals=BAD_ORDER_ID,
    ),
    ApiRoute(
        f"{PREFIX}/audit",
        audit,
        summary="The key audit: reveals and key events, oldest first.",
        response=KeyAudit,
        refusals=BAD_ORDER_ID,
    ),
    ApiRoute(
        f"{PREFIX}/emails",
        emails,
        summary="The email log, oldest first.",
        response=EmailLog,
        refusals=BAD_ORDER_ID,
    ),
    ApiRoute(
        f"{PREFIX}/emails",
        resend,
        method="POST",
        status=202,
        summary="Email a fresh link to the order's address.",
        response=Queued,
        refusals=UNAVAILABLE,
        headers=ACTOR,
    ),
    ApiRoute(
        f"{PREFIX}/link",
        issue_link,
        method="POST",
        status=201,
        summary="A fresh reveal link in the answer.",
        response=Link,
        refusals=UNAVAILABLE,
        headers=ACTOR,
    ),
    ApiRoute(
        f"{PREFIX}/object-url",
        object_url,
        summary="A presigned GET of the order's sealed keys object (`Cache-Control: no-store`).",
        response=PresignedUrl,
        query=PresignQuery,
        refusals=UNAVAILABLE,
        headers=ACTOR,
    ),
]
