"""The fulfillment service's internal API, read by the admin service.

Each endpoint is a module-level function taking its dependencies (`Edge`) from the app
state; `ROUTES` declares them with their models, from which the OpenAPI document is
generated; the use cases' exceptions are answered by `edge.REFUSALS`.
"""

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from bitloot_contracts.customer import CustomerStatus
from bitloot_contracts.events import OrderState, SealedKeys
from bitloot_contracts.events.fields import Count
from bitloot_fulfillment.adapters import views
from bitloot_fulfillment.entrypoints.edge import Edge
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import (
    DIGITS,
    HttpError,
    Whole,
    answer,
    parse_body,
    parse_query,
    path_uuid,
    read_json,
)
from bitloot_runtime.internal import Timeline, TimelineEvent
from bitloot_runtime.openapi import ApiRoute
from bitloot_runtime.paging import Page, PageQuery, offset_page

# An age beyond a century is a mistake, and one beyond PostgreSQL's intervals a 500.
MAX_AGE_SECONDS = 100 * 366 * 24 * 3600
Seconds = Annotated[int, Field(ge=0, le=MAX_AGE_SECONDS), DIGITS]


class SagaQuery(PageQuery):
    """``GET /internal/sagas``: every filter is optional."""

    limit: Whole = Field(100, ge=1, le=100, description="Page size.")
    order_id: list[UUID] = Field([], description="Repeatable.")
    state: OrderState | None = None
    older_than: Seconds | None = Field(None, description="Created at least this many seconds ago.")
    stuck_for: Seconds | None = Field(None, description="Unchanged for at least this many seconds.")


class Line(BaseModel):
    kinguin_product_id: str
    qty: int


class SagaItem(BaseModel):
    """A saga as the admin lists it (`adapters.views.list_sagas`)."""

    order_id: str
    state: OrderState
    kinguin_order_id: str | None
    kinguin_status: str | None
    failure_stage: str | None
    failure_reason: str | None
    needs_admin: bool
    polls_sent: int
    lines: list[Line]
    delivered_by_hand_by: str | None
    refund_id: int | None
    refund_status: str | None
    email_confirmed: bool | None
    customer_status: CustomerStatus
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


class Retried(BaseModel):
    """The state before and after, and in words what the saga now waits for."""

    order_id: str
    previous_state: OrderState
    state: OrderState
    summary: str


class HandDelivered(BaseModel):
    order_id: str
    state: OrderState


class HandDelivery(BaseModel):
    """``POST /internal/orders/{id}/deliver-by-hand``: keys an admin entered, sealed to
    delivery's public key by the admin service, and how many they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sealed: SealedKeys
    key_count: Count


# A sealed payload of the most keys an order holds is a few kilobytes.
MAX_HAND_DELIVERY_BODY = 256 * 1024


async def list_sagas(request: Request) -> Response:
    """Sagas matching the query, least recently changed last."""
    query = parse_query(SagaQuery, request)
    wanted = views.SagaFilter(
        order_ids=query.order_id,
        state=query.state,
        older_than=None if query.older_than is None else timedelta(seconds=query.older_than),
        stuck_for=None if query.stuck_for is None else timedelta(seconds=query.stuck_for),
        limit=query.limit,
        offset=query.offset(),
    )
    async with dependencies(request, Edge).runtime.sessionmaker() as session:
        items = await views.list_sagas(session, wanted)
    return answer(offset_page([SagaItem.model_validate(item) for item in items], query))


async def order_timeline(request: Request) -> Response:
    order_id = path_uuid(request)
    async with dependencies(request, Edge).runtime.sessionmaker() as session:
        items = await views.timeline(session, order_id)
    events = [TimelineEvent.model_validate(item) for item in items]
    return answer(Timeline(order_id=str(order_id), items=events))


async def retry(request: Request) -> Response:
    order_id = path_uuid(request)
    retried = await dependencies(request, Edge).retry(order_id)
    return answer(Retried(order_id=str(order_id), **asdict(retried)))


async def hand_delivery(request: Request) -> Response:
    order_id = path_uuid(request)
    actor = request.headers.get("x-bitloot-actor", "").strip()
    if not actor:
        raise HttpError(422, "actor_missing", "Name the admin in X-Bitloot-Actor.")
    _raw, document = await read_json(request, MAX_HAND_DELIVERY_BODY)
    wanted = parse_body(HandDelivery, document)
    state = await dependencies(request, Edge).deliver(
        order_id, "admin:" + actor[:128], wanted.key_count, wanted.sealed
    )
    return answer(HandDelivered(order_id=str(order_id), state=state))


_BAD_ORDER_ID = {"422": "The order id is not a UUID (`invalid_order_id`)."}
_NO_SAGA = {"404": "No saga (`order_not_found`)."}

ROUTES = [
    ApiRoute(
        "/internal/sagas",
        list_sagas,
        summary="Sagas (one per order) by state and age, least recently changed last.",
        response=Page[SagaItem],
        query=SagaQuery,
    ),
    ApiRoute(
        "/internal/orders/{order_id}/timeline",
        order_timeline,
        summary="What the saga did for an order.",
        response=Timeline,
        refusals=_BAD_ORDER_ID,
    ),
    ApiRoute(
        "/internal/orders/{order_id}/retry",
        retry,
        method="POST",
        summary="Retry a failed or stuck saga.",
        response=Retried,
        refusals={**_BAD_ORDER_ID, **_NO_SAGA, "409": "Not retryable now; `error` says why."},
    ),
    ApiRoute(
        "/internal/orders/{order_id}/deliver-by-hand",
        hand_delivery,
        method="POST",
        summary="Hand keys an admin entered, sealed to delivery's public key, to delivery "
        "(once, for a failed order or one past its deadline). The admin is named in "
        "X-Bitloot-Actor.",
        success="The saga's new state (`delivering`).",
        response=HandDelivered,
        body=HandDelivery,
        refusals={
            **_NO_SAGA,
            "409": "Not now: `already_delivered_by_hand`, `order_refunded`, "
            "`keys_already_with_delivery` or `not_failed_or_stuck`.",
            "422": "Bad order id or body, no actor (`actor_missing`), or not "
            "as many keys as the order holds (`key_count_mismatch`).",
        },
    ),
]
