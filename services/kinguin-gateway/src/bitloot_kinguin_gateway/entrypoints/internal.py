"""The gateway's internal API for the admin service (token-guarded by the runtime):
reservations, an order's timeline, and the live status of a reservation at Kinguin.
Endpoints take their dependencies from the app state (`edge.Edge`)."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, JsonValue, WithJsonSchema
from starlette.requests import Request
from starlette.responses import Response

from bitloot_kinguin_gateway.adapters.key_returns import KeyReturn
from bitloot_kinguin_gateway.adapters.repository import (
    Reservation,
    ReservationFilter,
)
from bitloot_kinguin_gateway.adapters.webhook_log import LoggedWebhook
from bitloot_kinguin_gateway.domain.reservation import STATES
from bitloot_kinguin_gateway.entrypoints.edge import Edge
from bitloot_kinguin_gateway.entrypoints.live_status import LiveStatus, live
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, Moment, answer, parse_query
from bitloot_runtime.internal import Timeline, TimelineEvent
from bitloot_runtime.openapi import ApiRoute
from bitloot_runtime.paging import Page, PageQuery, offset_page


def _known_state(state: str) -> str:
    if state not in STATES:
        raise ValueError(f"status must be one of {sorted(STATES)}")
    return state


class ReservationQuery(PageQuery):
    """``GET /internal/reservations``."""

    refusal = "invalid_filter"

    status: (
        Annotated[str, AfterValidator(_known_state), WithJsonSchema({"enum": sorted(STATES)})]
        | None
    ) = None
    order_id: UUID | None = None
    reservation_id: UUID | None = None


class Attributes(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ReservationItem(Attributes):
    """A reservation (the Kinguin order bought for an order) as the admin lists it."""

    reservation_id: UUID
    order_id: UUID
    kinguin_order_id: str | None
    state: str
    kinguin_status: str | None
    kinguin_updated_at: Moment | None
    lines: list[dict[str, JsonValue]]
    failure_code: str | None
    failure_reason: str | None
    keys_count: int | None
    attempt: int
    external_id: str
    created_at: Moment
    updated_at: Moment


class KinguinAttempt(Attributes):
    """One orderExternalId the order used at Kinguin, and what became of it."""

    attempt: int
    external_id: str
    kinguin_order_id: str | None
    kinguin_status: str | None


class KeyReturnItem(Attributes):
    """A key-return request to Kinguin and its outcome: `requested` (answer not known
    yet), `returned`, `refused` (Kinguin's reason), `unknown` (an answer was lost and the
    order shows no return: check at Kinguin), `not_returnable` (never asked, and why)."""

    kinguin_order_id: str
    state: str
    reason: str | None
    key_count: int | None
    requested_by: str | None
    created_at: Moment
    settled_at: Moment | None


class ReservationDetail(ReservationItem):
    kinguin_orders: list[KinguinAttempt]
    key_returns: list[KeyReturnItem]


async def listing(request: Request) -> Response:
    query = parse_query(ReservationQuery, request)
    wanted = ReservationFilter(
        state=query.status, order_id=query.order_id, reservation_id=query.reservation_id
    )
    async with dependencies(request, Edge).unit_of_work() as uow:
        found = await uow.reservations.search(wanted, limit=query.limit, offset=query.offset())
    return answer(offset_page([ReservationItem.model_validate(r) for r in found], query))


async def reservation(request: Request) -> Response:
    order_id: UUID = request.path_params["order_id"]
    async with dependencies(request, Edge).unit_of_work() as uow:
        repository = uow.reservations
        found = await repository.get(order_id)
        attempts = await repository.attempts(order_id)
        returns = await uow.key_returns.of_order(order_id)
    if found is None:
        raise HttpError(404, "reservation_not_found", f"No reservation for order {order_id}.")
    detail = {**vars(ReservationItem.model_validate(found)), "kinguin_orders": attempts}
    return answer(ReservationDetail.model_validate({**detail, "key_returns": returns}))


async def timeline(request: Request) -> Response:
    order_id: UUID = request.path_params["order_id"]
    async with dependencies(request, Edge).unit_of_work() as uow:
        found = await uow.reservations.get(order_id)
        calls = await uow.webhooks.of_order(order_id)
        returns = await uow.key_returns.of_order(order_id)
    items = (_reservation_items(found) if found else []) + [_webhook_item(c) for c in calls]
    items += [item for r in returns for item in _key_return_items(r)]
    items.sort(key=lambda item: item.at.isoformat())
    return answer(Timeline(order_id=str(order_id), items=items))


async def live_status(request: Request) -> Response:
    reservation_id: UUID = request.path_params["reservation_id"]
    edge = dependencies(request, Edge)
    async with edge.unit_of_work() as uow:
        found = await uow.reservations.by_reservation_id(reservation_id)
    if found is None:
        raise HttpError(404, "reservation_not_found", f"No reservation {reservation_id}.")
    return answer(await live(edge.kinguin, found))


def _item(at: datetime, kind: str, summary: str, data: dict[str, JsonValue]) -> TimelineEvent:
    return TimelineEvent(at=at, kind=kind, summary=summary, data=data)


def _reservation_items(found: Reservation) -> list[TimelineEvent]:
    lines, settled = len(found.lines), found.settled_at
    steps: list[tuple[datetime | None, str, str, dict[str, JsonValue]]] = [
        (found.created_at, "placing", f"Buying {lines} product(s) at Kinguin.", {"lines": lines}),
        (
            settled if found.state == "placed" else None,
            "placed",
            f"Kinguin order {found.kinguin_order_id} placed.",
            {"kinguin_order_id": found.kinguin_order_id},
        ),
        (
            settled if found.state == "failed" else None,
            "failed",
            f"Kinguin refused the order: {found.failure_code}.",
            {"code": found.failure_code, "reason": found.failure_reason},
        ),
    ]
    items = [_item(at, f"reservation_{kind}", text, data) for at, kind, text, data in steps if at]
    if found.keys_sealed_at:
        summary = f"{found.keys_count} key(s) fetched and sealed for delivery."
        items.append(
            _item(found.keys_sealed_at, "keys_sealed", summary, {"key_count": found.keys_count})
        )
    return items


def _key_return_items(found: KeyReturn) -> list[TimelineEvent]:
    """The request to Kinguin to take the keys back (when asked), then its outcome."""
    data = KeyReturnItem.model_validate(found).model_dump(mode="json")
    items = []
    if found.state != "not_returnable":
        summary = f"Asked Kinguin to take back the keys of order {found.kinguin_order_id}."
        items.append(_item(found.created_at, "key_return_requested", summary, data))
    if found.settled_at is not None:
        reason = f" ({found.reason})" if found.reason else ""
        summary = f"Key return for Kinguin order {found.kinguin_order_id}: {found.state}{reason}."
        items.append(_item(found.settled_at, f"key_return_{found.state}", summary, data))
    return items


def _webhook_item(call: LoggedWebhook) -> TimelineEvent:
    outcome = "applied" if call.applied else f"not applied ({call.note or 'ignored'})"
    return _item(
        call.received_at,
        "webhook_received",
        f"Kinguin webhook {call.event_name} status {call.status}: {outcome}.",
        {
            "event_name": call.event_name,
            "status": call.status,
            "authenticated": call.authenticated,
            "duplicate": call.duplicate,
            "applied": call.applied,
            "note": call.note,
        },
    )


_NOT_FOUND = {"404": "No such reservation (`reservation_not_found`)."}

ROUTES = [
    ApiRoute(
        "/internal/reservations",
        listing,
        summary="Reservations (Kinguin orders), newest first.",
        response=Page[ReservationItem],
        query=ReservationQuery,
    ),
    ApiRoute(
        "/internal/reservations/{order_id:uuid}",
        reservation,
        summary="An order's reservation.",
        success="The reservation, every Kinguin order it used (`kinguin_orders`) and its key "
        "returns to Kinguin (`key_returns`: state requested, returned, refused, unknown or "
        "not_returnable, with the reason).",
        response=ReservationDetail,
        refusals=_NOT_FOUND,
    ),
    ApiRoute(
        "/internal/orders/{order_id:uuid}/timeline",
        timeline,
        summary="What the gateway did for an order.",
        response=Timeline,
    ),
    ApiRoute(
        "/internal/kinguin/status/{reservation_id:uuid}",
        live_status,
        summary="What Kinguin says now about a reservation's order.",
        success="Kinguin's status beside the recorded one.",
        response=LiveStatus,
        refusals={
            **_NOT_FOUND,
            "502": "Kinguin refused the call.",
            "503": "Kinguin did not answer (`kinguin_unavailable`).",
        },
    ),
]
