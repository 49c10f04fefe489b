"""The admin's pages: the order list and one order with its timeline, its customer
status and the refund actions open to it."""

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.flags import MAX_NOTE
from bitloot_admin.domain.refunds import NOTICES, customer_status_in_words
from bitloot_admin.domain.story import (
    Situation,
    ago,
    delay_told,
    elapsed,
    next_step,
    story,
)
from bitloot_admin.domain.views import Saga
from bitloot_admin.entrypoints import (
    pages_documents,
    pages_flags,
    pages_refunds,
    pages_repair,
    pages_views,
)
from bitloot_admin.entrypoints.confirm import ONSUBMIT
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.pages_refunds import WORDS
from bitloot_admin.entrypoints.params import order_filter, order_id, problem
from bitloot_admin.entrypoints.render import page
from bitloot_admin.handlers.orders import (
    ListOrders,
    OrderFilter,
    OrderNotFound,
    OrderView,
    ShowOrder,
)
from bitloot_contracts.order_filters import (
    CUSTOMER_STATUSES,
    PAYMENT_STATUSES,
    RECORDED_FULFILMENT_STATES,
    REFUND_STATUSES,
)
from bitloot_contracts.topics import FULFILLMENT
from bitloot_runtime.http import HttpError


def routes(web: AdminWeb) -> list[BaseRoute]:
    async def orders(request: Request) -> Response:
        try:
            chosen = order_filter(request)
        except HttpError as exc:
            return page(web, request, "error.html", {"error": problem(exc)}, exc.status)
        found = await ListOrders(web.upstream)(chosen)
        next_link = _next_link(chosen, found.next) if found.next else None
        context: dict[str, object] = {
            "orders": found.items,
            "partial": found.partial,
            "filter": chosen,
            "choices": ORDER_CHOICES,
            "presets": PRESET_WORDS,
        }
        return page(web, request, "orders.html", {**context, "next_link": next_link})

    async def order(request: Request) -> Response:
        try:
            view = await ShowOrder(web.upstream, web.work)(order_id(request))
        except (HttpError, OrderNotFound):
            missing = {"error": "No such order."}
            return page(web, request, "error.html", missing, status_code=404)
        context: dict[str, object] = {
            "order": view.order,
            "saga": view.saga,
            "flags": view.flags,
            **_story(view, datetime.now(UTC)),
            "partial": view.partial,
            "repairs": repairs_for(view.saga),
            **_refund_actions(view),
        }
        return page(web, request, "order.html", context)

    return [
        Route("/orders", orders, methods=["GET"]),
        Route("/orders/{order_id}", order, methods=["GET"]),
        *pages_views.routes(web),
        *pages_documents.routes(web),
        *pages_flags.routes(web),
        *pages_refunds.routes(web),
        *pages_repair.routes(web),
    ]


# The order list's selects: each filter payments answers, with the values it can match
# (the fulfilment states payments records, not the saga's finer steps).
ORDER_CHOICES: dict[str, tuple[str, ...]] = {
    "payment": PAYMENT_STATUSES,
    "fulfilment": RECORDED_FULFILMENT_STATES,
    "refund": REFUND_STATUSES,
    "customer": CUSTOMER_STATUSES,
}
# The presets, one click each above the list: (value, words, what it finds).
PRESET_WORDS: tuple[tuple[str, str, str], ...] = (
    (
        "needs_action",
        "Needs action",
        "Waits for an admin: an open flag, a refund claimed or whose payout failed, "
        "a failed order with no refund, a stuck order.",
    ),
    ("failed", "Failed", "Fulfilment failed: the customer paid and got no key."),
    ("stuck", "Stuck", "Paid, fulfilment not ended, paid longer ago than the threshold."),
    ("refund_due", "Refund due", "Money owed back and not yet sent."),
)


# The repairs an order page may offer: (path, button), each asking before it acts
# (`confirm.ONSUBMIT["repair:<path>"]`), since each reaches the customer.
RETRY = ("retry", "Retry fulfillment")
RESEND = ("resend-email", "Resend email")
FRESH_LINK = ("link", "Issue fresh link")
# Where delivery holds the order's keys: the email can go out again.
_KEYS_HELD = {"delivering", "fulfilled"}


def repairs_for(saga: Saga | None) -> list[tuple[str, str]]:
    """The repairs that can apply to an order in its saga's state: retrying one that
    failed or may be stuck (fulfillment refuses one still within its deadline, and says
    so), mailing the keys again once delivery holds them (or its delivery failed). With
    no saga to go by (fulfillment did not answer) every repair is offered, for the
    services to judge."""
    if saga is None:
        return [RETRY, RESEND, FRESH_LINK]
    offered = []
    if saga.state not in ("fulfilled", "refunded"):
        offered.append(RETRY)
    if saga.state in _KEYS_HELD or (saga.state == "failed" and saga.failure_stage == "delivery"):
        offered += [RESEND, FRESH_LINK]
    return offered


# What `Situation` takes of the saga, by the same names.
_FROM_SAGA = {"state", "failure_stage", "failure_reason", "email_confirmed", "updated_at"}


def _story(view: OrderView, now: datetime) -> dict[str, object]:
    """The box at the top (where the order stands, why, what to do) and the timeline
    folded to one row per fact, each with its relative time and its events' raw data."""
    saga, order = view.saga, view.order
    situation = Situation(
        **(saga.model_dump(include=_FROM_SAGA) if saga else {"state": None}),
        payment_status=order.payment_status if order else None,
        saga_answered=FULFILLMENT not in view.partial,
        refunds=order.refunds if order else [],
        flags=[(flag.id, flag.kind) for flag in view.flags],
        parked=view.parked,
        delayed=delay_told(view.timeline),
    )
    told = story(view.timeline)
    start = told[0].at if told else now
    rows = [
        (row, ago(row.at, now), elapsed(row.at - start), [_raw(e.data) for e in row.events])
        for row in told
    ]
    return {"summary": next_step(situation, now), "story": rows}


def _raw(data: dict[str, JsonValue]) -> str:
    return json.dumps(data, sort_keys=True)


def _refund_actions(view: OrderView) -> dict[str, object]:
    """What the order page offers about refunds: the customer status in words, refunding
    the order while none of its keys was revealed (a fulfilled order only; delivery
    refuses once one was), and the notices delivery may have sent it, with their forms'
    confirmations."""
    refunds = view.order.refunds if view.order else []
    statuses = {str(refund.get("status")) for refund in refunds}
    # Once the keys were revoked the order's refund is on its way: nothing to offer twice.
    revoked = any(refund.get("reason") == "keys_unrevealed" for refund in refunds)
    kinds = ["delayed"]
    if statuses:
        kinds.insert(0, "refund_due")
    if statuses & {"sent", "refunded_outside"}:
        kinds.insert(1, "refund_sent")
    return {
        "customer_status": customer_status_in_words(view.customer_status),
        "refund_unrevealed": bool(view.saga and view.saga.state == "fulfilled") and not revoked,
        "notices": [NOTICES[kind] for kind in kinds],
        "onsubmit": ONSUBMIT,
        "max_note": MAX_NOTE,
        "words": WORDS,
    }


def _next_link(chosen: OrderFilter, cursor: str) -> str:
    return "/admin/orders?" + urlencode({**chosen.query(), "cursor": cursor})
