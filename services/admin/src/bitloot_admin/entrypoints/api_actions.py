"""The admin API's repair actions (``POST /admin/api/...``): each is audited, names the
admin to the service, and answers the service's verdict; a service that does not answer
is 503 ``service_unavailable`` with ``partial``, never a 500. Each is answered once per
``Idempotency-Key`` (`bitloot_admin.entrypoints.keys`)."""

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bitloot_admin.domain.flags import DECISIONS
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.keys import api_action
from bitloot_admin.entrypoints.openapi import ORDER_404, route
from bitloot_admin.entrypoints.pages_repair import FORMS
from bitloot_admin.entrypoints.params import (
    DecisionRequest,
    ReplayQuery,
    TtlQuery,
    letter_target,
    order_id,
    read_fields,
)
from bitloot_admin.entrypoints.session import check_csrf
from bitloot_admin.handlers.repairs import ObjectUrl, Outcome
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import parse_query
from bitloot_runtime.openapi import ApiRoute

Act = Callable[[Request], Awaitable[Outcome]]
UNANSWERED = {
    "503": "The service that owns it did not answer (`service_unavailable`, with "
    "`partial`); nothing was done."
}


class ActionResult(BaseModel):
    """The service that acted, and its answer."""

    service: str
    result: dict[str, JsonValue]


def outcome_response(outcome: Outcome) -> Response:
    """The action's answer: the service's body on success, its refusal otherwise."""
    if outcome.ok:
        return JSONResponse({"service": outcome.service, "result": outcome.body})
    if outcome.reason == "unavailable":
        body: dict[str, object] = {
            "error": "service_unavailable",
            "detail": f"{outcome.service} did not answer; nothing was done.",
            "fields": [],
            "partial": [outcome.service],
        }
        return JSONResponse(body, status_code=503)
    # The services say why as `detail` (payments' flags) or `message` (the refund APIs).
    detail = outcome.body.get("detail") or outcome.body.get("message")
    body = {
        "error": outcome.reason,
        "detail": detail if isinstance(detail, str) else f"{outcome.service} refused.",
        "fields": [],
        "service": outcome.service,
    }
    return JSONResponse(body, status_code=outcome.status)


def csrf(request: Request) -> None:
    """A browser's action must carry the page's CSRF token; a Bearer client need not
    (another site cannot make it send one)."""
    if request.state.session_via == "cookie":
        check_csrf(request, request.headers.get("x-csrf-token"))


def action(
    path: str,
    act: Act | None = None,
    *,
    summary: str,
    refusals: Mapping[str, str] | None = None,
    body: type[BaseModel] | None = None,
    **more: Any,
) -> ApiRoute:
    """An audited action answering `act`'s outcome (by default that of the UI's form of
    the same path, `pages_repair.FORMS`, on the fields of the JSON `body`), once per
    ``Idempotency-Key``, with the CSRF token of a browser's session checked first."""
    form = dict(FORMS)[path.removeprefix("/api")]

    async def checked(request: Request) -> Response:
        csrf(request)
        if act is not None:
            return outcome_response(await act(request))
        fields = functools.partial(read_fields, request, body)
        _, outcome = await form(dependencies(request, AdminWeb), request, fields)
        return outcome_response(outcome)

    async def once(request: Request) -> Response:
        return await api_action(dependencies(request, AdminWeb), checked)(request)

    return route(
        path,
        once,
        method="POST",
        summary=summary,
        response=ActionResult,
        refusals={**UNANSWERED, **(refusals or {})},
        body=body,
        **more,
    )


async def replay_letter(request: Request) -> Outcome:
    service, letter_id = letter_target(request)
    force = parse_query(ReplayQuery, request).force
    web = dependencies(request, AdminWeb)
    return await web.replay_letter(request.state.admin, service, letter_id, force)


async def object_url(request: Request) -> Outcome:
    web, ttl = dependencies(request, AdminWeb), parse_query(TtlQuery, request).ttl_seconds
    return await ObjectUrl(web.upstream, web.work)(request.state.admin, order_id(request), ttl)


ROUTES = [
    action(
        "/api/dead-letters/{service}/{letter_id:int}/replay",
        replay_letter,
        summary="Send a parked message back to its queue (audited); one already replayed and "
        "not parked again is refused unless `force=true`.",
        query=ReplayQuery,
        refusals={
            "404": "No such service (`unknown_service`) or letter.",
            "409": "`dead_letter_already_replayed`: send `force=true` to replay it once more.",
        },
    ),
    action(
        "/api/webhooks/{webhook_id:int}/replay",
        summary="Replay a logged webhook (audited).",
    ),
    action(
        "/api/orders/{order_id}/retry",
        summary="Retry a failed or stuck saga (audited).",
        refusals=ORDER_404,
    ),
    action(
        "/api/orders/{order_id}/resend-email",
        summary="Send the key email again (audited).",
        refusals=ORDER_404,
    ),
    action(
        "/api/orders/{order_id}/link",
        summary="Issue a fresh reveal link (audited).",
        refusals=ORDER_404,
    ),
    action(
        "/api/orders/{order_id}/object-url",
        object_url,
        summary="A presigned URL of the sealed keys object (audited).",
        query=TtlQuery,
        refusals={**ORDER_404, "422": "`ttl_seconds` is not 1 to 604800 (`invalid_ttl`)."},
    ),
    action(
        "/api/ipns/{ipn_id}/replay",
        summary="Put an IPN payments gave up on (result `error`) back in its queue (audited).",
        refusals={
            "404": "No such IPN (`ipn_not_found`).",
            "409": "`ipn_not_failed`: it was applied.",
        },
    ),
    *(
        action(
            f"/api/flags/{{flag_id}}/{name}",
            summary=f"Decide a flag: {decision.label.lower()}. {decision.means} Audited with "
            "the note.",
            body=DecisionRequest,
            refusals={
                "404": "No such flag (`flag_not_found`).",
                "409": "`flag_resolved`, or `cannot_<decision>`.",
                "422": "The body is not `{note}`, `note_too_long`, or `note_required` to dismiss.",
            },
        )
        for name, decision in DECISIONS.items()
    ),
]
