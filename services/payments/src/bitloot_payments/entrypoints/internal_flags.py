"""What an admin decides, through the internal API (token checked by the runtime; the
acting admin named by ``X-Bitloot-Actor``, recorded on what changes):

- ``GET /internal/flags/{id}``: a flag, its order's status, the decisions open to it
  (``decisions``, each named by its path below) and any refund it led to;
- ``POST /internal/flags/{id}/accept`` | ``/refund-due`` | ``/dismiss`` with an optional
  ``{"note": "..."}`` (required to dismiss): 409 ``flag_resolved`` if someone already
  did, 409 ``cannot_<decision>`` if the flag does not allow it;
- ``GET /internal/refunds?order_id&status&limit&before``;
- ``GET /internal/ipns/{id}``: one IPN with its raw body and its attempts;
- ``POST /internal/ipns/{id}/replay``: an IPN given up as ``error`` back in the queue.
"""

from collections.abc import Awaitable, Callable
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_payments.domain.flags import ACCEPT, DISMISS, REFUND_DUE, allowed
from bitloot_payments.entrypoints import cursors
from bitloot_payments.entrypoints.views import flag_json, ipn_json, refund_json
from bitloot_payments.handlers.queries import Queries
from bitloot_payments.handlers.resolve_flags import DecideFlag, NotFound, Refused, ReplayIpn
from bitloot_runtime.http import HttpError, parse_body, read_json, whole_number
from bitloot_runtime.internal import page_limit

DECISIONS = {"accept": ACCEPT, "refund-due": REFUND_DUE, "dismiss": DISMISS}
# A flag lists the decisions open to it by the path that takes each.
PATHS = {decision: path for path, decision in DECISIONS.items()}


class DecisionBody(BaseModel):
    """Why the admin decided as they did."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


def actor(request: Request) -> str:
    """The admin acting, as the admin service names them."""
    return "admin:" + (request.headers.get("x-bitloot-actor") or "unknown")[:128]


def _row_id(request: Request, name: str) -> int:
    found = whole_number(request.path_params[name])
    if found is None:
        raise HttpError(404, "not_found", f"No such {name.removesuffix('_id')}.")
    return found


async def _note(request: Request) -> str | None:
    if not await request.body():
        return None
    _raw, document = await read_json(request)
    return parse_body(DecisionBody, document).note


def _refused(exc: Refused) -> HttpError:
    return HttpError(409 if exc.code != "note_required" else 422, exc.code, str(exc))


def flag_routes(queries: Queries, decisions: tuple[DecideFlag, ReplayIpn]) -> list[Route]:
    decide_flag, replay_ipn = decisions

    async def flag(request: Request) -> Response:
        found = await queries.flag(_row_id(request, "flag_id"))
        if found is None:
            raise HttpError(404, "flag_not_found", "No such flag.")
        open_to = [PATHS[d] for d in allowed(found.flag.kind, found.flag.data, found.order_status)]
        return JSONResponse(
            {
                **flag_json(found.flag),
                "order_status": found.order_status,
                "decisions": open_to if found.flag.status == "open" else [],
                "refunds": [refund_json(r) for r in found.refunds],
            }
        )

    def decider(decision: str) -> Callable[[Request], Awaitable[Response]]:
        async def decide(request: Request) -> Response:
            flag_id = _row_id(request, "flag_id")
            note = await _note(request)
            try:
                decided = await decide_flag(flag_id, decision, actor(request), note)
            except NotFound as exc:
                raise HttpError(404, "flag_not_found", str(exc)) from None
            except Refused as exc:
                raise _refused(exc) from None
            return JSONResponse(
                {
                    "flag": flag_json(decided.flag),
                    "order_status": decided.order_status,
                    "refund_id": decided.refund_id,
                }
            )

        return decide

    async def refunds(request: Request) -> Response:
        limit = page_limit(request)
        raw_order = request.query_params.get("order_id")
        try:
            order_id = UUID(raw_order) if raw_order is not None else None
        except ValueError:
            raise HttpError(422, "invalid_order_id", "order_id must be a UUID.") from None
        found = await queries.refunds(
            limit=limit,
            order_id=order_id,
            status=request.query_params.get("status"),
            before=cursors.row_id(request),
        )
        last = found[-1].id if len(found) == limit else None
        return JSONResponse({"items": [refund_json(r) for r in found], "next": last})

    async def ipn(request: Request) -> Response:
        found = await queries.ipn(_row_id(request, "ipn_id"))
        if found is None:
            raise HttpError(404, "ipn_not_found", "No such IPN.")
        return JSONResponse(ipn_json(found, with_body=True))

    async def replay(request: Request) -> Response:
        try:
            replayed, put_back = await replay_ipn(_row_id(request, "ipn_id"), actor(request))
        except NotFound as exc:
            raise HttpError(404, "ipn_not_found", str(exc)) from None
        except Refused as exc:
            raise _refused(exc) from None
        return JSONResponse({"ipn": ipn_json(replayed), "replayed": put_back})

    return [
        Route("/internal/flags/{flag_id}", flag, methods=["GET"]),
        *(
            Route(f"/internal/flags/{{flag_id}}/{path}", decider(decision), methods=["POST"])
            for path, decision in DECISIONS.items()
        ),
        Route("/internal/refunds", refunds, methods=["GET"]),
        Route("/internal/ipns/{ipn_id}", ipn, methods=["GET"]),
        Route("/internal/ipns/{ipn_id}/replay", replay, methods=["POST"]),
    ]
