"""The payments part of the internal API: payments with their IPN history, and the IPN
log."""

from typing import Literal
from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from bitloot_payments.domain.records import IpnFilter, PaymentFilter
from bitloot_payments.entrypoints.edge import Edge, read
from bitloot_payments.entrypoints.listing import (
    IdPage,
    IdPageQuery,
    TimePageQuery,
    time_cursor,
)
from bitloot_payments.entrypoints.views import IpnItem, PaymentDetail, PaymentItem
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, IsoTime, QueryFlag, answer, parse_query
from bitloot_runtime.openapi import ApiRoute
from bitloot_runtime.paging import Page


class PaymentQuery(TimePageQuery):
    """``GET /internal/payments``."""

    status: str | None = None
    order_id: UUID | None = None
    since: IsoTime | None = None
    until: IsoTime | None = None


class IpnQuery(IdPageQuery):
    """``GET /internal/ipns``."""

    order_id: UUID | None = None
    payment_id: str | None = None
    result: str | None = None
    signature_valid: QueryFlag | None = None
    source: Literal["ipn", "poll"] | None = Field(
        None, description="`ipn`: NOWPayments called; `poll`: we asked."
    )
    since: IsoTime | None = None
    until: IsoTime | None = None


async def payments(request: Request) -> Response:
    query = parse_query(PaymentQuery, request)
    which = PaymentFilter(
        status=query.status, order_id=query.order_id, since=query.since, until=query.until
    )
    after, limit = query.after(str), query.limit
    found = await read(request, lambda uow: uow.payments.find(which, limit=limit, after=after))
    last = found[-1] if len(found) == query.limit else None
    cursor = time_cursor(last.created_at, last.payment_id) if last else None
    return answer(Page(items=[PaymentItem.model_validate(p) for p in found], next=cursor))


async def payment(request: Request) -> Response:
    payment_id = request.path_params["payment_id"]
    found = await dependencies(request, Edge).read_payment(payment_id)
    if found is None:
        raise HttpError(404, "payment_not_found", f"No payment {payment_id}.")
    return answer(
        PaymentDetail.model_validate(
            {**vars(found.payment), "ipns": found.ipns, "flags": found.flags}
        )
    )


async def ipns(request: Request) -> Response:
    query = parse_query(IpnQuery, request)
    which = IpnFilter(**query.model_dump(exclude={"limit", "before"}))
    found = await read(
        request, lambda uow: uow.ipns.find(which, limit=query.limit, before_id=query.before)
    )
    items = [IpnItem.model_validate(i) for i in found]
    return answer(IdPage.of(items, [i.id for i in found], query.limit))


ROUTES = [
    ApiRoute(
        "/internal/payments",
        payments,
        summary="Payments, newest first.",
        response=Page[PaymentItem],
        query=PaymentQuery,
    ),
    ApiRoute(
        "/internal/payments/{payment_id}",
        payment,
        summary="A payment with its IPN history and flags.",
        response=PaymentDetail,
        refusals={"404": "None (`payment_not_found`)."},
    ),
    ApiRoute(
        "/internal/ipns",
        ipns,
        summary="Logged IPNs, newest first.",
        response=IdPage[IpnItem],
        query=IpnQuery,
    ),
]
