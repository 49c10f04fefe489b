"""The UI's repair forms (POST, with the CSRF token): each runs the audited action and
shows what came of it, with a link back to where the admin was; once per the form's
idempotency key (`bitloot_admin.entrypoints.keys`), so a double click acts once. The API
runs the same actions on a JSON body's fields (`api_actions.action`)."""

import functools
from collections.abc import Awaitable, Callable
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.flags import DECISIONS, Decision
from bitloot_admin.domain.refunds import DECISIONS as REFUND_DECISIONS
from bitloot_admin.domain.refunds import NOTICES, REFUSALS, RefundDecision
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.keys import form_action
from bitloot_admin.entrypoints.params import (
    MAX_NOTE_BODY,
    letter_target,
    note,
    order_id,
    read_form,
    row_id,
    ttl_seconds,
)
from bitloot_admin.entrypoints.params_refunds import decision_of, notice_kind, required_note
from bitloot_admin.entrypoints.render import page
from bitloot_admin.entrypoints.session import check_csrf
from bitloot_admin.handlers.repairs import Outcome, Repairs
from bitloot_runtime.http import HttpError
from bitloot_runtime.idempotency import Endpoint

Form = dict[str, str]
# The fields an action reads (a form's, or an API call's JSON body), asked for once the
# path's ids were read.
Fields = Callable[[], Awaitable[Form]]
# What a form's action was (for the page's title) and how it ended.
Done = tuple[str, Outcome]
Act = Callable[[Repairs, Request, Fields], Awaitable[Done]]


async def _replay_letter(repairs: Repairs, request: Request, fields: Fields) -> Done:
    service, letter_id = letter_target(request)
    force = (await fields()).get("force") == "true"
    outcome = await repairs.replay_dead_letter(request.state.admin, service, letter_id, force)
    return f"Replay of {service}'s parked message #{letter_id}", outcome


async def _replay_webhook(repairs: Repairs, request: Request, _fields: Fields) -> Done:
    webhook_id = int(request.path_params["webhook_id"])
    outcome = await repairs.replay_webhook(request.state.admin, webhook_id)
    return f"Replay of Kinguin webhook #{webhook_id}", outcome


async def _replay_ipn(repairs: Repairs, request: Request, _fields: Fields) -> Done:
    ipn_id = row_id(request, "ipn_id", "ipn")
    return f"Replay of IPN #{ipn_id}", await repairs.replay_ipn(request.state.admin, ipn_id)


def _decide(decision: Decision) -> Act:
    async def act(repairs: Repairs, request: Request, fields: Fields) -> Done:
        flag_id = row_id(request, "flag_id", "flag")
        wanted = note((await fields()).get("note"))
        outcome = await repairs.decide_flag(request.state.admin, flag_id, decision, wanted)
        return decision.title.format(id=flag_id), outcome

    return act


def _decide_refund(decision: RefundDecision) -> Act:
    async def act(repairs: Repairs, request: Request, fields: Fields) -> Done:
        refund_id = row_id(request, "refund_id", "refund")
        note, transaction_id = decision_of(decision, await fields())
        outcome = await repairs.decide_refund(
            request.state.admin, refund_id, decision, note, transaction_id
        )
        return decision.title.format(id=refund_id), outcome

    return act


async def _refund_unrevealed(repairs: Repairs, request: Request, fields: Fields) -> Done:
    wanted, note = order_id(request), required_note(await fields())
    outcome = await repairs.refund_unrevealed(request.state.admin, wanted, note)
    return f"Refund of order {wanted} (keys never revealed)", outcome


async def _resend_notice(repairs: Repairs, request: Request, fields: Fields) -> Done:
    wanted, kind = order_id(request), notice_kind(await fields())
    outcome = await repairs.resend_notice(request.state.admin, wanted, kind)
    return f"{NOTICES[kind].label} of order {wanted}", outcome


def _on_order(title: str, act: Callable[[Repairs, str, UUID], Awaitable[Outcome]]) -> Act:
    """An action on the path's order alone; `title` names it (``{}``: the order's id)."""

    async def acted(repairs: Repairs, request: Request, _fields: Fields) -> Done:
        wanted = order_id(request)
        return title.format(wanted), await act(repairs, request.state.admin, wanted)

    return acted


async def _object_url(repairs: Repairs, request: Request, fields: Fields) -> Done:
    wanted, ttl = order_id(request), ttl_seconds(request, await fields())
    outcome = await repairs.object_url(request.state.admin, wanted, ttl)
    return f"Presigned URL of order {wanted}'s sealed keys", outcome


FORMS: tuple[tuple[str, Act], ...] = (
    ("/dead-letters/{service}/{letter_id:int}/replay", _replay_letter),
    ("/webhooks/{webhook_id:int}/replay", _replay_webhook),
    ("/orders/{order_id}/retry", _on_order("Retry of order {}", Repairs.retry_order)),
    ("/orders/{order_id}/resend-email", _on_order("New email for order {}", Repairs.resend_email)),
    ("/orders/{order_id}/link", _on_order("Fresh reveal link for order {}", Repairs.fresh_link)),
    ("/orders/{order_id}/object-url", _object_url),
    ("/ipns/{ipn_id}/replay", _replay_ipn),
    *((f"/flags/{{flag_id}}/{name}", _decide(decision)) for name, decision in DECISIONS.items()),
    *(
        (f"/refunds/{{refund_id}}/{name}", _decide_refund(decision))
        for name, decision in REFUND_DECISIONS.items()
    ),
    ("/orders/{order_id}/refund-unrevealed", _refund_unrevealed),
    ("/orders/{order_id}/notices/resend", _resend_notice),
)


def routes(web: AdminWeb) -> list[BaseRoute]:
    return [
        Route(path, form_action(web, _form_action(web, act)), methods=["POST"])
        for path, act in FORMS
    ]


def _form_action(web: AdminWeb, act: Act) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            # A decision's note may be long; the other forms hold a token and a path.
            form = await read_form(request, MAX_NOTE_BODY)
            check_csrf(request, form.get("csrf"))
            what, outcome = await act(web.repairs, request, functools.partial(_given, form))
        except HttpError as exc:
            return page(web, request, "error.html", {"error": exc.detail}, exc.status)
        back = _local(form.get("back", ""))
        # An order's email or saga, asked again: what the service did, not that it agreed.
        read_back = None
        if "order_id" in request.path_params:
            read_back = await web.repairs.read_back(order_id(request), outcome)
        context = {
            "what": what,
            "outcome": outcome,
            "back": back,
            "refusals": REFUSALS,
            "read_back": read_back,
        }
        # The page says 502 for any refusal; the form's key is kept or freed on the
        # service's own verdict (`keys.VERDICT`): a refusal (4xx) is kept, freed only
        # when the service did not answer (503: nothing was done).
        request.state.service_status = outcome.status
        return page(web, request, "action.html", context, 200 if outcome.ok else 502)

    return endpoint


async def _given(form: Form) -> Form:
    return form


def _local(path: str) -> str:
    """Only a link back into the admin: a form cannot send the admin elsewhere."""
    return path if path.startswith("/admin/") and "//" not in path else "/admin/orders"
