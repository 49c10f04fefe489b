"""The UI's repair forms (POST, with the CSRF token): each runs the audited action and
shows what came of it, with a link back to where the admin was; once per the form's
idempotency key (`bitloot_admin.entrypoints.keys`), so a double click acts once. The API
runs the same actions on a JSON body's fields (`api_actions.action`)."""

import functools
from collections.abc import Awaitable, Callable

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
from bitloot_admin.handlers.repairs import Ask, ObjectUrl, Outcome, ReadBackOrder, Repair
from bitloot_contracts.schemas import JsonObject
from bitloot_contracts.topics import DELIVERY, FULFILLMENT, KINGUIN_GATEWAY, PAYMENTS
from bitloot_runtime.http import HttpError
from bitloot_runtime.idempotency import Endpoint

Form = dict[str, str]
# The fields an action reads (a form's, or an API call's JSON body), asked for once the
# path's ids were read.
Fields = Callable[[], Awaitable[Form]]
# What a form's action was (for the page's title) and how it ended.
Done = tuple[str, Outcome]
Act = Callable[[AdminWeb, Request, Fields], Awaitable[Done]]
# The repairs of an order alone: the form's path under the order, its result's title
# (``{}``: the order's id), and what it asks: of which service, audited as, its path's end.
_ON_ORDER = {
    "retry": ("Retry of order {}", FULFILLMENT, "order_retry", "retry"),
    "resend-email": ("New email for order {}", DELIVERY, "email_resend", "emails"),
    "link": ("Fresh reveal link for order {}", DELIVERY, "link_issued", "link"),
}


def _repair(web: AdminWeb, request: Request, ask: Ask) -> Awaitable[Outcome]:
    return Repair(web.upstream, web.work)(request.state.admin, ask)


async def _replay_letter(web: AdminWeb, request: Request, fields: Fields) -> Done:
    service, letter_id = letter_target(request)
    force = (await fields()).get("force") == "true"
    outcome = await web.replay_letter(request.state.admin, service, letter_id, force)
    return f"Replay of {service}'s parked message #{letter_id}", outcome


async def _replay_webhook(web: AdminWeb, request: Request, _fields: Fields) -> Done:
    webhook_id = int(request.path_params["webhook_id"])
    ask = Ask(KINGUIN_GATEWAY, "webhook_replay", f"webhooks/{webhook_id}", "replay")
    return f"Replay of Kinguin webhook #{webhook_id}", await _repair(web, request, ask)


async def _replay_ipn(web: AdminWeb, request: Request, _fields: Fields) -> Done:
    """Put an IPN payments gave up on (``error``) back in its queue."""
    ipn_id = row_id(request, "ipn_id", "ipn")
    ask = Ask(PAYMENTS, "ipn_replay", f"ipns/{ipn_id}", "replay")
    return f"Replay of IPN #{ipn_id}", await _repair(web, request, ask)


def _decide(decision: Decision) -> Act:
    """Resolve a payment flag as `decision`, with the admin's note (payments requires one
    to dismiss); the note is audited with the outcome."""

    async def act(web: AdminWeb, request: Request, fields: Fields) -> Done:
        flag_id = row_id(request, "flag_id", "flag")
        why = note((await fields()).get("note"))
        body: JsonObject | None = {"note": why} if why is not None else None
        ask = Ask(PAYMENTS, decision.action, f"flags/{flag_id}", decision.name, body, {"note": why})
        return decision.title.format(id=flag_id), await _repair(web, request, ask)

    return act


def _decide_refund(decision: RefundDecision) -> Act:
    """Approve, reject or record as refunded outside BitLoot a refund; payments refuses
    (409) a decision its status does not allow. Audited with the note."""

    async def act(web: AdminWeb, request: Request, fields: Fields) -> Done:
        refund_id = row_id(request, "refund_id", "refund")
        why, transaction_id = decision_of(decision, await fields())
        body: JsonObject = {"actor": request.state.admin, "note": why}
        if decision.takes_transaction_id:
            body["transaction_id"] = transaction_id
        ask = Ask(PAYMENTS, decision.action, f"refunds/{refund_id}", decision.name, body)
        return decision.title.format(id=refund_id), await _repair(web, request, ask)

    return act


async def _refund_unrevealed(web: AdminWeb, request: Request, fields: Fields) -> Done:
    """Revoke a fulfilled order's keys at delivery so that the order is refunded;
    delivery refuses (409 ``keys_revealed``) once any key was revealed."""
    wanted, why = order_id(request), required_note(await fields())
    body: JsonObject = {"actor": request.state.admin, "note": why}
    ask = Ask(DELIVERY, "order_refund_unrevealed", f"orders/{wanted}", "revoke", body)
    return f"Refund of order {wanted} (keys never revealed)", await _repair(web, request, ask)


async def _resend_notice(web: AdminWeb, request: Request, fields: Fields) -> Done:
    """Send a customer notice of the order again (delivery: 404 ``no_such_notice`` when
    it was never sent)."""
    wanted, kind = order_id(request), notice_kind(await fields())
    body: JsonObject = {"kind": kind, "actor": request.state.admin}
    ask = Ask(DELIVERY, "notice_resend", f"orders/{wanted}", "notices/resend", body)
    return f"{NOTICES[kind].label} of order {wanted}", await _repair(web, request, ask)


def _on_order(title: str, service: str, action: str, verb: str) -> Act:
    """A repair of the path's order alone (`_ON_ORDER`)."""

    async def acted(web: AdminWeb, request: Request, _fields: Fields) -> Done:
        wanted = order_id(request)
        ask = Ask(service, action, f"orders/{wanted}", verb)
        return title.format(wanted), await _repair(web, request, ask)

    return acted


async def _object_url(web: AdminWeb, request: Request, fields: Fields) -> Done:
    wanted, ttl = order_id(request), ttl_seconds(request, await fields())
    outcome = await ObjectUrl(web.upstream, web.work)(request.state.admin, wanted, ttl)
    return f"Presigned URL of order {wanted}'s sealed keys", outcome


FORMS: tuple[tuple[str, Act], ...] = (
    ("/dead-letters/{service}/{letter_id:int}/replay", _replay_letter),
    ("/webhooks/{webhook_id:int}/replay", _replay_webhook),
    *((f"/orders/{{order_id}}/{name}", _on_order(*how)) for name, how in _ON_ORDER.items()),
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
            what, outcome = await act(web, request, functools.partial(_given, form))
        except HttpError as exc:
            return page(web, request, "error.html", {"error": exc.detail}, exc.status)
        back = _local(form.get("back", ""))
        # An order's email or saga, asked again: what the service did, not that it agreed.
        read_back = None
        if "order_id" in request.path_params:
            read_back = await ReadBackOrder(web.upstream)(order_id(request), outcome)
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
