"""Flags raised for admins and the decisions on them (accept, refund due, dismiss), and
one IPN and its replay, through the internal API (token checked by the runtime; the
acting admin named by ``X-Bitloot-Actor``, recorded on what changes)."""

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from bitloot_contracts.flags import FLAG_STATUSES
from bitloot_payments.domain.flags import ACCEPT, DISMISS, REFUND_DUE, allowed
from bitloot_payments.entrypoints.edge import Edge, read
from bitloot_payments.entrypoints.listing import IdPage, IdPageQuery
from bitloot_payments.entrypoints.views import (
    FlagItem,
    IpnDetail,
    IpnItem,
    RefundItem,
    refund_item,
)
from bitloot_payments.handlers.resolve_flags import NotFound
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import (
    HttpError,
    answer,
    parse_body,
    parse_query,
    read_json,
    whole_number,
)
from bitloot_runtime.openapi import BODY_ERRORS, ApiRoute

DECISIONS = {"accept": ACCEPT, "refund-due": REFUND_DUE, "dismiss": DISMISS}
# A flag lists the decisions open to it by the path that takes each.
PATHS = {decision: path for path, decision in DECISIONS.items()}


class DecisionBody(BaseModel):
    """Why the admin decided as they did."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


class FlagQuery(IdPageQuery):
    """``GET /internal/flags``."""

    kind: str | None = None
    order_id: UUID | None = None
    status: str | None = Field(None, description=f"One of {', '.join(FLAG_STATUSES)}.")


class FlagDetail(FlagItem):
    order_status: str | None
    decisions: list[str] = Field(description="The paths of the decisions open to it.")
    refunds: list[RefundItem]


class FlagDecided(BaseModel):
    """The flag as resolved, the order's status, and the refund it led to, if any."""

    flag: FlagItem
    order_status: str | None
    refund_id: int | None


class Replayed(BaseModel):
    ipn: IpnItem
    replayed: bool = Field(description="False if it was already waiting.")


def actor(request: Request) -> str:
    """The admin acting, as the admin service names them."""
    return "admin:" + (request.headers.get("x-bitloot-actor") or "unknown")[:128]


def row_id(request: Request, name: str) -> int:
    """Path parameter `name` as a row id; 404 ``not_found`` for anything else."""
    found = whole_number(request.path_params[name])
    if found is None:
        raise HttpError(404, "not_found", f"No such {name.removesuffix('_id')}.")
    return found


async def _note(request: Request) -> str | None:
    if not await request.body():
        return None
    _raw, document = await read_json(request)
    return parse_body(DecisionBody, document).note


async def flags(request: Request) -> Response:
    query = parse_query(FlagQuery, request)
    which = query.model_dump(exclude={"before"})
    found = await read(request, lambda uow: uow.flags.find(**which, before_id=query.before))
    items = [FlagItem.model_validate(f) for f in found]
    return answer(IdPage.of(items, [f.id for f in found], query.limit))


async def flag(request: Request) -> Response:
    found = await dependencies(request, Edge).read_flag(row_id(request, "flag_id"))
    if found is None:
        raise HttpError(404, "flag_not_found", "No such flag.")
    shown = found.flag
    open_to = [PATHS[d] for d in allowed(shown.kind, shown.data, found.order_status)]
    detail = {
        **vars(shown),
        "order_status": found.order_status,
        "decisions": open_to if shown.status == "open" else [],
        "refunds": [refund_item(r) for r in found.refunds],
    }
    return answer(FlagDetail.model_validate(detail))


async def decide(request: Request) -> Response:
    """One of `DECISIONS`, named by the last part of the path."""
    decision = DECISIONS[request.url.path.rsplit("/", 1)[1]]
    flag_id = row_id(request, "flag_id")
    note = await _note(request)
    decided = await dependencies(request, Edge).decide_flag(flag_id, decision, actor(request), note)
    return answer(FlagDecided.model_validate(decided, from_attributes=True))


async def ipn(request: Request) -> Response:
    wanted = row_id(request, "ipn_id")  # a bad id is 404 without a connection
    found = await read(request, lambda uow: uow.ipns.load(wanted))
    if found is None:
        raise HttpError(404, "ipn_not_found", "No such IPN.")
    return answer(IpnDetail.model_validate(found))


async def replay(request: Request) -> Response:
    replay_ipn = dependencies(request, Edge).replay_ipn
    try:
        replayed, put_back = await replay_ipn(row_id(request, "ipn_id"), actor(request))
    except NotFound as exc:
        # `REFUSALS` answers a missing flag; here it is the IPN that is missing.
        raise HttpError(404, "ipn_not_found", str(exc)) from None
    return answer(Replayed(ipn=IpnItem.model_validate(replayed), replayed=put_back))


_DECISIONS = (
    ("accept", "accept", "Accept the payment: the order is paid and fulfilled, once."),
    ("refund-due", "refund_due", "The flagged money is owed back: a refund is due."),
    ("dismiss", "dismiss", "Nothing to do; the note says why."),
)
_NONE = {"404": "None (`not_found`, `flag_not_found`, `ipn_not_found`)."}

ROUTES = [
    ApiRoute(
        "/internal/flags",
        flags,
        summary="Flags raised for admins, newest first.",
        response=IdPage[FlagItem],
        query=FlagQuery,
    ),
    ApiRoute(
        "/internal/flags/{flag_id}",
        flag,
        summary="A flag, its order's status and the decisions open to it.",
        response=FlagDetail,
        refusals=_NONE,
    ),
    *(
        ApiRoute(
            f"/internal/flags/{{flag_id}}/{path}",
            decide,
            method="POST",
            summary=summary,
            success="The flag as resolved and the order's status.",
            response=FlagDecided,
            body=DecisionBody,
            body_errors={
                **BODY_ERRORS,
                "422": "A bad body, or no note to dismiss with (`note_required`).",
            },
            refusals={
                **_NONE,
                "409": "Already resolved (`flag_resolved`) or not allowed for this flag "
                f"(`cannot_{decision}`).",
            },
        )
        for path, decision, summary in _DECISIONS
    ),
    ApiRoute(
        "/internal/ipns/{ipn_id}",
        ipn,
        summary="One IPN or polled status, its raw body and its attempts.",
        response=IpnDetail,
        refusals=_NONE,
    ),
    ApiRoute(
        "/internal/ipns/{ipn_id}/replay",
        replay,
        method="POST",
        summary="Put an IPN given up as `error` back in the queue (idempotent).",
        success="The IPN; `replayed` false if it was already waiting.",
        response=Replayed,
        refusals={**_NONE, "409": "It was applied (`ipn_not_failed`)."},
    ),
]
