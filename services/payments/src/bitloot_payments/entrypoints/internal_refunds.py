"""Refunds and an admin's decisions on them (approve, reject, refunded outside), through
the internal API (token checked by the runtime; the admin named by ``actor`` in the
body, else ``X-Bitloot-Actor``). Every refusal changes nothing."""

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from bitloot_contracts.events.fields import Identifier
from bitloot_payments.domain import refunds as rules
from bitloot_payments.entrypoints.edge import Edge, read
from bitloot_payments.entrypoints.internal_flags import actor as header_actor
from bitloot_payments.entrypoints.internal_flags import row_id
from bitloot_payments.entrypoints.listing import IdPage, IdPageQuery
from bitloot_payments.entrypoints.views import RefundDetail, RefundItem, refund_detail, refund_item
from bitloot_payments.handlers.refund_decisions import Decision
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, answer, parse_body, parse_query, read_json
from bitloot_runtime.openapi import BODY_ERRORS, ApiRoute


class DecisionBody(BaseModel):
    """Who decides, and why."""

    model_config = ConfigDict(extra="forbid")

    actor: str | None = Field(default=None, min_length=1, max_length=128)
    note: str | None = Field(default=None, max_length=2000)
    transaction_id: Identifier | None = None


class RefundQuery(IdPageQuery):
    """``GET /internal/refunds``."""

    order_id: UUID | None = None
    status: str | None = None


DECISIONS = {
    "approve": rules.APPROVED,
    "reject": rules.REJECTED,
    "refunded-outside": rules.REFUNDED_OUTSIDE,
}


async def _decision(request: Request, status: str) -> Decision:
    body = DecisionBody()
    if await request.body():
        _raw, document = await read_json(request)
        body = parse_body(DecisionBody, document)
    if body.transaction_id is not None and status != rules.REFUNDED_OUTSIDE:
        raise HttpError(422, "invalid_request", "Only money refunded outside has a transaction.")
    actor = "admin:" + body.actor if body.actor else header_actor(request)
    return Decision(status, actor, body.note, body.transaction_id)


async def refunds(request: Request) -> Response:
    query = parse_query(RefundQuery, request)
    which = query.model_dump(exclude={"before"})
    found = await read(request, lambda uow: uow.refunds.find(**which, before_id=query.before))
    items = [refund_item(r) for r in found]
    return answer(IdPage.of(items, [r.id for r in found], query.limit))


async def refund(request: Request) -> Response:
    wanted = row_id(request, "refund_id")  # a bad id is 404 without a connection
    found = await read(request, lambda uow: uow.refunds.load(wanted))
    if found is None:
        raise HttpError(404, "not_found", "No such refund.")
    return answer(refund_detail(found))


async def decide(request: Request) -> Response:
    """One of `DECISIONS`, named by the last part of the path."""
    refund_id = row_id(request, "refund_id")
    decision = await _decision(request, DECISIONS[request.url.path.rsplit("/", 1)[1]])
    decided = await dependencies(request, Edge).decide_refund(refund_id, decision)
    return answer(refund_detail(decided))


_NONE = {"404": "No such refund (`not_found`)."}
_DECIDED = (
    (
        "approve",
        "Approve a claimed refund (or one whose payout failed) for the payout runner.",
        "Not claimed, nor failed (`not_claimed`).",
    ),
    (
        "reject",
        "Reject a refund not yet paid out; the note says why.",
        "Not due, claimed or failed (`refund_closed`).",
    ),
    (
        "refunded-outside",
        "Record the money as refunded outside BitLoot; the note says how.",
        "Sending, sent or closed (`refund_closed`).",
    ),
)

ROUTES = [
    ApiRoute(
        "/internal/refunds",
        refunds,
        summary="Refunds, newest first.",
        response=IdPage[RefundItem],
        query=RefundQuery,
    ),
    ApiRoute(
        "/internal/refunds/{refund_id}",
        refund,
        summary="A refund (every field, its customer status) and its payouts.",
        response=RefundDetail,
        refusals=_NONE,
    ),
    *(
        ApiRoute(
            f"/internal/refunds/{{refund_id}}/{path}",
            decide,
            method="POST",
            summary=summary,
            success="The refund as decided.",
            response=RefundDetail,
            body=DecisionBody,
            body_errors={
                **BODY_ERRORS,
                "400": "Malformed JSON, or no note where one is required (`note_required`).",
            },
            refusals={**_NONE, "409": conflict},
        )
        for path, summary, conflict in _DECIDED
    ),
]
