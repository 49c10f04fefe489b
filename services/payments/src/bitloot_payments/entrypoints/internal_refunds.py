"""An admin's decisions on refunds, through the internal API (token checked by the
runtime; the admin named by ``actor`` in the body, else ``X-Bitloot-Actor``):

- ``GET /internal/refunds/{id}``: the refund and its payouts;
- ``POST /internal/refunds/{id}/approve`` ``{"actor", "note"}``: 409 ``not_claimed``
  unless claimed (or its payout failed);
- ``POST /internal/refunds/{id}/reject`` ``{"actor", "note"}``: the note is required
  (400 ``note_required``); 409 ``refund_closed`` unless due, claimed or failed;
- ``POST /internal/refunds/{id}/refunded-outside`` ``{"actor", "note", "transaction_id"}``:
  the note is required; 409 ``refund_closed`` unless due, claimed, approved or failed.

Every refusal changes nothing; 404 ``not_found`` for a refund that does not exist.
"""

from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_contracts.events.fields import Identifier
from bitloot_payments.domain import refunds as rules
from bitloot_payments.entrypoints.internal_flags import actor as header_actor
from bitloot_payments.entrypoints.views import refund_json
from bitloot_payments.handlers.queries import Queries
from bitloot_payments.handlers.refund_decisions import DecideRefund, Decision, RefundNotFound
from bitloot_runtime.http import HttpError, parse_body, read_json, whole_number


class DecisionBody(BaseModel):
    """Who decides, and why."""

    model_config = ConfigDict(extra="forbid")

    actor: str | None = Field(default=None, min_length=1, max_length=128)
    note: str | None = Field(default=None, max_length=2000)
    transaction_id: Identifier | None = None


DECISIONS = {
    "approve": rules.APPROVED,
    "reject": rules.REJECTED,
    "refunded-outside": rules.REFUNDED_OUTSIDE,
}


def _refund_id(request: Request) -> int:
    found = whole_number(request.path_params["refund_id"])
    if found is None:
        raise HttpError(404, "not_found", "No such refund.")
    return found


async def _decision(request: Request, status: str) -> Decision:
    body = DecisionBody()
    if await request.body():
        _raw, document = await read_json(request)
        body = parse_body(DecisionBody, document)
    if body.transaction_id is not None and status != rules.REFUNDED_OUTSIDE:
        raise HttpError(422, "invalid_request", "Only money refunded outside has a transaction.")
    actor = "admin:" + body.actor if body.actor else header_actor(request)
    return Decision(status, actor, body.note, body.transaction_id)


def refund_routes(queries: Queries, decide_refund: DecideRefund) -> list[Route]:
    async def refund(request: Request) -> Response:
        found = await queries.refund(_refund_id(request))
        if found is None:
            raise HttpError(404, "not_found", "No such refund.")
        # Payouts are recorded by the payout runner; none before a refund is approved.
        return JSONResponse({**refund_json(found), "payouts": []})

    def decider(status: str) -> Callable[[Request], Awaitable[Response]]:
        async def decide(request: Request) -> Response:
            refund_id = _refund_id(request)
            decision = await _decision(request, status)
            try:
                decided = await decide_refund(refund_id, decision)
            except RefundNotFound as exc:
                raise HttpError(404, "not_found", str(exc)) from None
            except rules.RefundRefused as exc:
                code = 400 if exc.code == "note_required" else 409
                raise HttpError(code, exc.code, str(exc)) from None
            return JSONResponse({**refund_json(decided), "payouts": []})

        return decide

    return [
        Route("/internal/refunds/{refund_id}", refund, methods=["GET"]),
        *(
            Route(f"/internal/refunds/{{refund_id}}/{path}", decider(status), methods=["POST"])
            for path, status in DECISIONS.items()
        ),
    ]
