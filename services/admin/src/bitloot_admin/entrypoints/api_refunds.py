"""The admin API of refunds (``/admin/api/refunds``) and of the refund actions on an
order: the queue and one refund with its payouts; approve, reject or record as refunded
outside BitLoot; refund an order whose keys were never revealed; resend a customer
notice. Each action is audited and answers the service's verdict (its 409 refusal codes
passed on), as `api_actions` does."""

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.refunds import DECISIONS, RefundDecision, open_decisions
from bitloot_admin.entrypoints.api_actions import csrf, outcome_response
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.keys import api_action
from bitloot_admin.entrypoints.params import order_id, row_id
from bitloot_admin.entrypoints.params_refunds import (
    decision_of,
    notice_kind,
    read_refund_request,
    refund_filter,
    required_note,
)
from bitloot_admin.handlers.refunds import ListRefunds, RefundNotFound, ShowRefund
from bitloot_runtime.http import HttpError

Endpoint = Callable[[Request], Awaitable[Response]]


def routes(web: AdminWeb) -> list[BaseRoute]:
    return [
        Route("/api/refunds", _refunds(web), methods=["GET"]),
        Route("/api/refunds/{refund_id}", _refund(web), methods=["GET"]),
        *(
            Route(path, api_action(web, act), methods=["POST"])
            for path, act in [
                *(
                    (f"/api/refunds/{{refund_id}}/{name}", _decide(web, decision))
                    for name, decision in DECISIONS.items()
                ),
                ("/api/orders/{order_id}/refund-unrevealed", _refund_unrevealed(web)),
                ("/api/orders/{order_id}/notices/resend", _resend_notice(web)),
            ]
        ),
    ]


def _refunds(web: AdminWeb) -> Endpoint:
    async def refunds(request: Request) -> Response:
        found = await ListRefunds(web.upstream)(refund_filter(request))
        page = found.items
        items = [refund.model_dump(mode="json") for refund in page.items]
        next_page = {"before": str(page.next)} if page.next is not None else None
        return JSONResponse({"items": items, "next": next_page, "partial": found.partial})

    return refunds


def _refund(web: AdminWeb) -> Endpoint:
    async def refund(request: Request) -> Response:
        wanted = row_id(request, "refund_id", "refund")
        try:
            view = await ShowRefund(web.upstream, web.work)(wanted)
        except RefundNotFound as exc:
            raise HttpError(404, "refund_not_found", str(exc)) from None
        found = view.refund
        item = found.model_dump(mode="json") if found else None
        if item is not None and found is not None:
            item["decisions"] = [d.name for d in open_decisions(found.status)]
        return JSONResponse({"item": item, "partial": view.partial})

    return refund


def _decide(web: AdminWeb, decision: RefundDecision) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        csrf(request)
        wanted = row_id(request, "refund_id", "refund")
        note, transaction_id = decision_of(decision, await read_refund_request(request))
        outcome = await web.repairs.decide_refund(
            request.state.admin, wanted, decision, note, transaction_id
        )
        return outcome_response(outcome)

    return endpoint


def _refund_unrevealed(web: AdminWeb) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        csrf(request)
        wanted = order_id(request)
        note = required_note(await read_refund_request(request))
        outcome = await web.repairs.refund_unrevealed(request.state.admin, wanted, note)
        return outcome_response(outcome)

    return endpoint


def _resend_notice(web: AdminWeb) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        csrf(request)
        wanted = order_id(request)
        kind = notice_kind(await read_refund_request(request))
        return outcome_response(await web.repairs.resend_notice(request.state.admin, wanted, kind))

    return endpoint
