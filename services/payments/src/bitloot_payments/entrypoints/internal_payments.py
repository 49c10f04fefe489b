"""The payments part of the internal API: payments with their IPN history, the IPN log,
and the flags raised for admins."""

from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_payments.domain.records import SOURCES, IpnFilter, PaymentFilter
from bitloot_payments.entrypoints import cursors
from bitloot_payments.entrypoints.views import flag_json, ipn_json, payment_json
from bitloot_payments.handlers.queries import Queries
from bitloot_runtime.http import HttpError
from bitloot_runtime.internal import page_limit


def _uuid(request: Request, name: str) -> UUID | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise HttpError(422, f"invalid_{name}", f"{name} must be a UUID, not {raw!r}.") from None


def _flag(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise HttpError(422, f"invalid_{name}", f"{name} must be true or false, not {raw!r}.")
    return raw == "true"


def _source(request: Request) -> str | None:
    raw = request.query_params.get("source")
    if raw is not None and raw not in SOURCES:
        raise HttpError(422, "invalid_source", f"source must be one of {SOURCES}, not {raw!r}.")
    return raw


def _next_id(ids: list[int], limit: int) -> int | None:
    return ids[-1] if len(ids) == limit else None


def payment_routes(queries: Queries) -> list[Route]:
    """``/internal/payments``, ``/internal/payments/{id}``, ``/internal/ipns``,
    ``/internal/flags``."""

    async def payments(request: Request) -> Response:
        limit = page_limit(request)
        which = PaymentFilter(
            status=request.query_params.get("status"),
            order_id=_uuid(request, "order_id"),
            since=cursors.moment(request, "since"),
            until=cursors.moment(request, "until"),
        )
        found = await queries.payments(which, limit=limit, after=cursors.decode(request))
        last = found[-1] if len(found) == limit else None
        cursor = cursors.encode(last.created_at, last.payment_id) if last else None
        return JSONResponse({"items": [payment_json(p) for p in found], "next": cursor})

    async def payment(request: Request) -> Response:
        payment_id = request.path_params["payment_id"]
        found = await queries.payment(payment_id)
        if found is None:
            raise HttpError(404, "payment_not_found", f"No payment {payment_id}.")
        return JSONResponse(
            {
                **payment_json(found.payment),
                "ipns": [ipn_json(i, with_body=True) for i in found.ipns],
                "flags": [flag_json(f) for f in found.flags],
            }
        )

    async def ipns(request: Request) -> Response:
        limit = page_limit(request)
        which = IpnFilter(
            order_id=_uuid(request, "order_id"),
            payment_id=request.query_params.get("payment_id"),
            result=request.query_params.get("result"),
            signature_valid=_flag(request, "signature_valid"),
            since=cursors.moment(request, "since"),
            until=cursors.moment(request, "until"),
            source=_source(request),
        )
        found = await queries.ipns(which, limit=limit, before=cursors.row_id(request))
        next_id = _next_id([i.id for i in found], limit)
        return JSONResponse({"items": [ipn_json(i) for i in found], "next": next_id})

    async def flags(request: Request) -> Response:
        limit = page_limit(request)
        found = await queries.flags(
            limit=limit,
            kind=request.query_params.get("kind"),
            order_id=_uuid(request, "order_id"),
            status=request.query_params.get("status"),
            before=cursors.row_id(request),
        )
        next_id = _next_id([f.id for f in found], limit)
        return JSONResponse({"items": [flag_json(f) for f in found], "next": next_id})

    return [
        Route("/internal/payments", payments, methods=["GET"]),
        Route("/internal/payments/{payment_id}", payment, methods=["GET"]),
        Route("/internal/ipns", ipns, methods=["GET"]),
        Route("/internal/flags", flags, methods=["GET"]),
    ]
