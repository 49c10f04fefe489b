"""The refund queue's pages: the refunds in one status (newest first) and one refund with
everything payments knows of it, its payouts, its history, and a form for each decision
its status leaves open. The forms post to `pages_repair`, which acts and shows what came
of it."""

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.flags import MAX_NOTE
from bitloot_admin.domain.refunds import (
    MAX_TRANSACTION_ID,
    REFUND_STATUSES,
    open_decisions,
    reason_in_words,
    refund_history,
    short_address,
    status_in_words,
)
from bitloot_admin.domain.views import RefundDetail
from bitloot_admin.entrypoints.confirm import ONSUBMIT
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.pages_views import cells
from bitloot_admin.entrypoints.params import problem, row_id
from bitloot_admin.entrypoints.params_refunds import refund_filter
from bitloot_admin.entrypoints.render import page
from bitloot_admin.handlers.refunds import Happened, ListRefunds, RefundNotFound, ShowRefund
from bitloot_runtime.http import HttpError
from bitloot_runtime.idempotency import Endpoint

# The words the pages use, for their templates.
WORDS = {
    "reason": reason_in_words,
    "status": status_in_words,
    "address": short_address,
}


def routes(web: AdminWeb) -> list[BaseRoute]:
    return [
        Route("/refunds", _refunds(web), methods=["GET"]),
        Route("/refunds/{refund_id}", _refund(web), methods=["GET"]),
    ]


def _refunds(web: AdminWeb) -> Endpoint:
    async def listed(request: Request) -> Response:
        try:
            chosen = refund_filter(request)
        except HttpError as exc:
            return page(web, request, "error.html", {"error": problem(exc)}, exc.status)
        found = await ListRefunds(web.upstream)(chosen)
        kept = {k: v for k, v in chosen.query().items() if k != "before"}
        more = found.items.next
        context = {
            "refunds": found.items.items,
            "filter": chosen,
            "statuses": REFUND_STATUSES,
            # A tab keeps the order chosen, and starts at the newest refunds again.
            "tab_query": {k: v for k, v in kept.items() if k == "order_id"},
            "next_link": "/admin/refunds?" + urlencode({**kept, "before": more}) if more else None,
            "words": WORDS,
            "partial": found.partial,
        }
        return page(web, request, "refunds.html", context)

    return listed


def _refund(web: AdminWeb) -> Endpoint:
    async def shown(request: Request) -> Response:
        try:
            wanted = row_id(request, "refund_id", "refund")
            view = await ShowRefund(web.upstream, web.work)(wanted)
        except HttpError as exc:
            return page(web, request, "error.html", {"error": exc.detail}, exc.status)
        except RefundNotFound:
            return page(web, request, "error.html", {"error": "No such refund."}, 404)
        refund = view.refund
        context = {
            "refund_id": wanted,
            "refund": refund,
            "decisions": open_decisions(refund.status) if refund else [],
            "payouts": cells(refund.payouts) if refund else ([], []),
            "history": _history(refund, view.events) if refund else [],
            "onsubmit": ONSUBMIT,
            "max_note": MAX_NOTE,
            "max_transaction_id": MAX_TRANSACTION_ID,
            "words": WORDS,
            "partial": view.partial,
        }
        return page(web, request, "refund.html", context)

    return shown


def _history(refund: RefundDetail, events: list[Happened]) -> list[tuple[str, str, str]]:
    """The refund's own history (payments' fields) and what the bus said of its order's
    refunds, oldest first, each as (when, what, who told)."""
    decided = f"Decided by {refund.decided_by}" if refund.decided_by else None
    steps = refund_history(
        refund.created_at,
        refund.claimed_at,
        refund.decided_at,
        decided,
        refund.updated_at,
        refund.status,
    )
    told = [(step.at, step.what, "payments") for step in steps]
    told += [(event.at, event.what, "bus") for event in events]
    return [(at.isoformat(), what, source) for at, what, source in sorted(told)]
