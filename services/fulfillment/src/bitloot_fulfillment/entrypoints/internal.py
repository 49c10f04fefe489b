"""The fulfillment service's internal API, read by the admin service."""

from datetime import timedelta
from typing import get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_contracts.events import OrderState, SealedKeys
from bitloot_contracts.events.fields import Count
from bitloot_fulfillment.adapters import views
from bitloot_fulfillment.adapters.unit_of_work import FulfillmentUnitOfWork
from bitloot_fulfillment.domain.saga import ManualDeliveryRefused, RetryRefused
from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_fulfillment.handlers.manual_delivery import DeliverByHand
from bitloot_fulfillment.handlers.retry import RetryOrder, SagaNotFound
from bitloot_runtime.http import HttpError, parse_body, read_json, whole_number
from bitloot_runtime.internal import page_limit
from bitloot_runtime.service import ServiceRuntime

_STATES = frozenset(get_args(OrderState))
# An age beyond a century is a mistake, and one beyond PostgreSQL's intervals a 500.
MAX_AGE_SECONDS = 100 * 366 * 24 * 3600


def parse_uuid(raw: str, field: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise HttpError(422, "invalid_order_id", f"{field} {raw!r} is not a UUID.") from None


def _seconds(request: Request, name: str) -> timedelta | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    seconds = whole_number(raw, MAX_AGE_SECONDS)
    if seconds is None:
        raise HttpError(
            422, f"invalid_{name}", f"{name} must be 0-{MAX_AGE_SECONDS} seconds, not {raw!r}."
        )
    return timedelta(seconds=seconds)


def _offset(request: Request) -> int:
    raw = request.query_params.get("offset", "0")
    offset = whole_number(raw)
    if offset is None:
        raise HttpError(422, "invalid_offset", f"offset must be 0 or more, not {raw!r}.")
    return offset


class HandDelivery(BaseModel):
    """``POST /internal/orders/{id}/deliver-by-hand``: keys an admin entered, sealed to
    delivery's public key by the admin service, and how many they are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sealed: SealedKeys
    key_count: Count


# A sealed payload of the most keys an order holds is a few kilobytes.
MAX_HAND_DELIVERY_BODY = 256 * 1024
# The refusals that are the request's fault rather than the order's.
_INVALID_HAND_DELIVERY = frozenset({"key_count_mismatch"})


def saga_filter(request: Request) -> views.SagaFilter:
    """The listing's query: ``order_id`` (repeatable), ``state``, ``older_than`` and
    ``stuck_for`` (seconds), ``limit`` (1-100) and ``offset``; 422 on a bad value."""
    state = request.query_params.get("state")
    if state is not None and state not in _STATES:
        raise HttpError(422, "invalid_state", f"state {state!r} is not a saga state.")
    return views.SagaFilter(
        order_ids=[parse_uuid(raw, "order_id") for raw in request.query_params.getlist("order_id")],
        state=state,
        older_than=_seconds(request, "older_than"),
        stuck_for=_seconds(request, "stuck_for"),
        limit=page_limit(request, default=100),
        offset=_offset(request),
    )


def internal_routes(runtime: ServiceRuntime, policy: TimerPolicy) -> list[Route]:
    """``GET /internal/sagas``, ``GET /internal/orders/{order_id}/timeline``,
    ``POST /internal/orders/{order_id}/retry`` and ``.../deliver-by-hand``."""
    units_of_work = runtime.units_of_work(FulfillmentUnitOfWork)
    retry_order, deliver_by_hand = RetryOrder(units_of_work, policy), DeliverByHand(units_of_work)

    async def list_sagas(request: Request) -> Response:
        wanted = saga_filter(request)
        async with runtime.sessionmaker() as session:
            items = await views.list_sagas(session, wanted)
        more = len(items) == wanted.limit
        next_offset = wanted.offset + wanted.limit if more else None
        return JSONResponse({"items": items, "next_offset": next_offset})

    async def order_timeline(request: Request) -> Response:
        order_id = parse_uuid(request.path_params["order_id"], "order id")
        async with runtime.sessionmaker() as session:
            items = await views.timeline(session, order_id)
        return JSONResponse({"order_id": str(order_id), "items": items})

    async def retry(request: Request) -> Response:
        order_id = parse_uuid(request.path_params["order_id"], "order id")
        try:
            retried = await retry_order(order_id)
        except SagaNotFound as exc:
            raise HttpError(404, "order_not_found", str(exc)) from None
        except RetryRefused as exc:
            raise HttpError(409, exc.code, str(exc)) from None
        return JSONResponse(
            {
                "order_id": str(order_id),
                "previous_state": retried.previous_state,
                "state": retried.state,
                "summary": retried.summary,
            }
        )

    async def hand_delivery(request: Request) -> Response:
        order_id = parse_uuid(request.path_params["order_id"], "order id")
        actor = request.headers.get("x-bitloot-actor", "").strip()
        if not actor:
            raise HttpError(422, "actor_missing", "Name the admin in X-Bitloot-Actor.")
        _raw, document = await read_json(request, MAX_HAND_DELIVERY_BODY)
        wanted = parse_body(HandDelivery, document)
        try:
            state = await deliver_by_hand(
                order_id, "admin:" + actor[:128], wanted.key_count, wanted.sealed
            )
        except SagaNotFound as exc:
            raise HttpError(404, "order_not_found", str(exc)) from None
        except ManualDeliveryRefused as exc:
            status = 422 if exc.code in _INVALID_HAND_DELIVERY else 409
            raise HttpError(status, exc.code, str(exc)) from None
        return JSONResponse({"order_id": str(order_id), "state": state})

    return [
        Route("/internal/sagas", list_sagas, methods=["GET"]),
        Route("/internal/orders/{order_id}/timeline", order_timeline, methods=["GET"]),
        Route("/internal/orders/{order_id}/retry", retry, methods=["POST"]),
        Route("/internal/orders/{order_id}/deliver-by-hand", hand_delivery, methods=["POST"]),
    ]
