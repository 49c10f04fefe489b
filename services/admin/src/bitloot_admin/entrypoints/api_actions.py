"""The admin API's repair actions (``POST /admin/api/...``): each is audited, names the
admin to the service, and answers the service's verdict; a service that does not answer
is 503 ``service_unavailable`` with ``partial``, never a 500. Each is answered once per
``Idempotency-Key`` (`bitloot_admin.entrypoints.keys`)."""

from collections.abc import Awaitable, Callable
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.flags import DECISIONS, Decision
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.keys import api_action
from bitloot_admin.entrypoints.params import letter_target, order_id, read_note, row_id, ttl_seconds
from bitloot_admin.entrypoints.session import check_csrf
from bitloot_admin.handlers.repairs import Outcome
from bitloot_runtime.internal import replay_force

Endpoint = Callable[[Request], Awaitable[Response]]


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


def routes(web: AdminWeb) -> list[BaseRoute]:
    """Every action; a browser (cookie session) must also send its CSRF token in
    ``X-CSRF-Token``, a Bearer client need not (another site cannot make it send one)."""
    repairs = web.repairs

    async def replay_letter(request: Request) -> Response:
        csrf(request)
        service, letter_id = letter_target(request)
        actor, force = request.state.admin, replay_force(request)
        return outcome_response(await repairs.replay_dead_letter(actor, service, letter_id, force))

    async def replay_webhook(request: Request) -> Response:
        csrf(request)
        webhook_id = int(request.path_params["webhook_id"])
        return outcome_response(await repairs.replay_webhook(request.state.admin, webhook_id))

    def on_order(act: Callable[[str, UUID], Awaitable[Outcome]]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            csrf(request)
            return outcome_response(await act(request.state.admin, order_id(request)))

        return endpoint

    async def replay_ipn(request: Request) -> Response:
        csrf(request)
        ipn_id = row_id(request, "ipn_id", "ipn")
        return outcome_response(await repairs.replay_ipn(request.state.admin, ipn_id))

    def decide(decision: Decision) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            csrf(request)
            flag_id = row_id(request, "flag_id", "flag")
            note = await read_note(request)
            outcome = await repairs.decide_flag(request.state.admin, flag_id, decision, note)
            return outcome_response(outcome)

        return endpoint

    async def object_url(request: Request) -> Response:
        csrf(request)
        ttl = ttl_seconds(request, {})
        outcome = await repairs.object_url(request.state.admin, order_id(request), ttl)
        return outcome_response(outcome)

    actions: list[tuple[str, Endpoint]] = [
        ("/api/dead-letters/{service}/{letter_id:int}/replay", replay_letter),
        ("/api/webhooks/{webhook_id:int}/replay", replay_webhook),
        ("/api/orders/{order_id}/retry", on_order(repairs.retry_order)),
        ("/api/orders/{order_id}/resend-email", on_order(repairs.resend_email)),
        ("/api/orders/{order_id}/link", on_order(repairs.fresh_link)),
        ("/api/orders/{order_id}/object-url", object_url),
        ("/api/ipns/{ipn_id}/replay", replay_ipn),
        *((f"/api/flags/{{flag_id}}/{name}", decide(d)) for name, d in DECISIONS.items()),
    ]
    return [Route(path, api_action(web, act), methods=["POST"]) for path, act in actions]


def csrf(request: Request) -> None:
    """A browser's action must carry the page's CSRF token; a Bearer client need not."""
    if request.state.session_via == "cookie":
        check_csrf(request, request.headers.get("x-csrf-token"))
