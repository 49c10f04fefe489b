"""The gateway's internal API for the admin service (token-guarded by the runtime):
reservations, an order's timeline, and the live status of a reservation at Kinguin."""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_kinguin_gateway.adapters.key_returns import KeyReturn, KeyReturnRepository
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient
from bitloot_kinguin_gateway.adapters.repository import (
    Attempt,
    Reservation,
    ReservationFilter,
    ReservationRepository,
)
from bitloot_kinguin_gateway.adapters.webhook_log import LoggedWebhook, WebhookLog
from bitloot_kinguin_gateway.domain.reservation import STATES
from bitloot_kinguin_gateway.entrypoints.live_status import live
from bitloot_kinguin_gateway.entrypoints.paging import (
    choice_param,
    page,
    page_offset,
    uuid_param,
)
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.http import HttpError
from bitloot_runtime.internal import page_limit


def internal_routes(unit_of_work: Callable[[], UnitOfWork], kinguin: KinguinClient) -> list[Route]:
    """``/internal/reservations`` (list, one), ``/internal/orders/{id}/timeline`` and
    ``/internal/kinguin/status/{reservation_id}``."""

    async def listing(request: Request) -> Response:
        limit, offset = page_limit(request), page_offset(request)
        async with unit_of_work() as uow:
            found = await ReservationRepository(uow).search(
                _reservation_filter(request), limit=limit, offset=offset
            )
        return JSONResponse(page([_reservation_json(r) for r in found], limit, offset))

    async def reservation(request: Request) -> Response:
        order_id: UUID = request.path_params["order_id"]
        async with unit_of_work() as uow:
            repository = ReservationRepository(uow)
            found = await repository.get(order_id)
            attempts = await repository.attempts(order_id)
            returns = await KeyReturnRepository(uow.session).of_order(order_id)
        if found is None:
            raise HttpError(404, "reservation_not_found", f"No reservation for order {order_id}.")
        return JSONResponse(
            {
                **_reservation_json(found),
                "kinguin_orders": [_attempt_json(a) for a in attempts],
                "key_returns": [_key_return_json(r) for r in returns],
            }
        )

    async def timeline(request: Request) -> Response:
        order_id: UUID = request.path_params["order_id"]
        async with unit_of_work() as uow:
            found = await ReservationRepository(uow).get(order_id)
            calls = await WebhookLog(uow).of_order(order_id)
            returns = await KeyReturnRepository(uow.session).of_order(order_id)
        items = (_reservation_items(found) if found else []) + [_webhook_item(c) for c in calls]
        items += [item for r in returns for item in _key_return_items(r)]
        items.sort(key=lambda item: str(item["at"]))
        return JSONResponse({"order_id": str(order_id), "items": items})

    async def live_status(request: Request) -> Response:
        reservation_id: UUID = request.path_params["reservation_id"]
        async with unit_of_work() as uow:
            found = await ReservationRepository(uow).by_reservation_id(reservation_id)
        if found is None:
            raise HttpError(404, "reservation_not_found", f"No reservation {reservation_id}.")
        return JSONResponse(await live(kinguin, found))

    return [
        Route("/internal/reservations", listing, methods=["GET"]),
        Route("/internal/reservations/{order_id:uuid}", reservation, methods=["GET"]),
        Route("/internal/orders/{order_id:uuid}/timeline", timeline, methods=["GET"]),
        Route("/internal/kinguin/status/{reservation_id:uuid}", live_status, methods=["GET"]),
    ]


def _reservation_filter(request: Request) -> ReservationFilter:
    return ReservationFilter(
        state=choice_param(request, "status", STATES),
        order_id=uuid_param(request, "order_id"),
        reservation_id=uuid_param(request, "reservation_id"),
    )


def _reservation_json(found: Reservation) -> dict[str, Any]:
    return {
        "reservation_id": str(found.reservation_id),
        "order_id": str(found.order_id),
        "kinguin_order_id": found.kinguin_order_id,
        "state": found.state,
        "kinguin_status": found.kinguin_status,
        "kinguin_updated_at": _iso(found.kinguin_updated_at),
        "lines": found.lines,
        "failure_code": found.failure_code,
        "failure_reason": found.failure_reason,
        "keys_count": found.keys_count,
        "attempt": found.attempt,
        "external_id": found.external_id,
        "created_at": found.created_at.isoformat(),
        "updated_at": found.updated_at.isoformat(),
    }


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    """One orderExternalId the order used at Kinguin, and what became of it."""
    return {
        "attempt": attempt.attempt,
        "external_id": attempt.external_id,
        "kinguin_order_id": attempt.kinguin_order_id,
        "kinguin_status": attempt.kinguin_status,
    }


def _key_return_json(found: KeyReturn) -> dict[str, Any]:
    """A key-return request to Kinguin and its outcome: `requested` (answer not known
    yet), `returned`, `refused` (Kinguin's reason), `unknown` (an answer was lost and the
    order shows no return: check at Kinguin), `not_returnable` (never asked, and why)."""
    return {
        "kinguin_order_id": found.kinguin_order_id,
        "state": found.state,
        "reason": found.reason,
        "key_count": found.key_count,
        "requested_by": found.requested_by,
        "created_at": found.created_at.isoformat(),
        "settled_at": _iso(found.settled_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _item(at: datetime, kind: str, summary: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"at": at.isoformat(), "kind": kind, "summary": summary, "data": data}


def _reservation_items(found: Reservation) -> list[dict[str, Any]]:
    lines = len(found.lines)
    items = [
        _item(
            found.created_at,
            "reservation_placing",
            f"Buying {lines} product(s) at Kinguin.",
            {"lines": lines},
        )
    ]
    if found.settled_at and found.state == "placed":
        items.append(
            _item(
                found.settled_at,
                "reservation_placed",
                f"Kinguin order {found.kinguin_order_id} placed.",
                {"kinguin_order_id": found.kinguin_order_id},
            )
        )
    if found.settled_at and found.state == "failed":
        items.append(
            _item(
                found.settled_at,
                "reservation_failed",
                f"Kinguin refused the order: {found.failure_code}.",
                {"code": found.failure_code, "reason": found.failure_reason},
            )
        )
    if found.keys_sealed_at:
        items.append(
            _item(
                found.keys_sealed_at,
                "keys_sealed",
                f"{found.keys_count} key(s) fetched and sealed for delivery.",
                {"key_count": found.keys_count},
            )
        )
    return items


def _key_return_items(found: KeyReturn) -> list[dict[str, Any]]:
    """The request to Kinguin to take the keys back (when asked), then its outcome."""
    data = _key_return_json(found)
    items = []
    if found.state != "not_returnable":
        summary = f"Asked Kinguin to take back the keys of order {found.kinguin_order_id}."
        items.append(_item(found.created_at, "key_return_requested", summary, data))
    if found.settled_at is not None:
        reason = f" ({found.reason})" if found.reason else ""
        summary = f"Key return for Kinguin order {found.kinguin_order_id}: {found.state}{reason}."
        items.append(_item(found.settled_at, f"key_return_{found.state}", summary, data))
    return items


def _webhook_item(call: LoggedWebhook) -> dict[str, Any]:
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
