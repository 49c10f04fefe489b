"""The admin API of refunds (``/admin/api/refunds``) and of the refund actions on an
order: the queue and one refund with its payouts; approve, reject or record as refunded
outside BitLoot; refund an order whose keys were never revealed; resend a customer
notice. Each action is audited and answers the service's verdict (its 409 refusal codes
passed on), as `api_actions` does."""

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from bitloot_admin.domain.refunds import DECISIONS, RefundDecision, open_decisions
from bitloot_admin.domain.views import Refund
from bitloot_admin.entrypoints.api import Document, Partial
from bitloot_admin.entrypoints.api_actions import action
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.openapi import route
from bitloot_admin.entrypoints.params import row_id
from bitloot_admin.entrypoints.params_refunds import RefundQuery, RefundRequest, refund_filter
from bitloot_admin.handlers.refunds import ListRefunds, ShowRefund
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import answer


class Refunds(Partial):
    items: list[Refund]
    next: dict[str, str] | None = Field(description="`{before}` of the next page, or null.")


async def list_refunds(request: Request) -> Response:
    found = await ListRefunds(dependencies(request, AdminWeb).upstream)(refund_filter(request))
    more = found.items.next
    next_page = {"before": str(more)} if more is not None else None
    return answer(Refunds(items=found.items.items, next=next_page, partial=found.partial))


async def show_refund(request: Request) -> Response:
    web = dependencies(request, AdminWeb)
    view = await ShowRefund(web.upstream, web.work)(row_id(request, "refund_id", "refund"))
    found = view.refund
    item = found.model_dump(mode="json") if found else None
    if item is not None and found is not None:
        item["decisions"] = [d.name for d in open_decisions(found.status)]
    return answer(Document(item=item, partial=view.partial))


def _summary(decision: RefundDecision) -> str:
    opens = ", ".join(sorted(decision.open_to))
    required = " (required)" if decision.note_required else ""
    return f"{decision.label} (refund {opens}). {decision.means} Audited with the note{required}."


_NOT_FOUND = {"404": "Not found (`refund_not_found`, `order_not_found`)."}

ROUTES = [
    route(
        "/api/refunds",
        list_refunds,
        summary="The refund queue, newest first: by status and order; `before` pages.",
        response=Refunds,
        query=RefundQuery,
    ),
    route(
        "/api/refunds/{refund_id}",
        show_refund,
        summary="One refund: every field payments keeps, its payouts, the `decisions` open "
        "to it; `item` is null when payments is down.",
        response=Document,
        refusals=_NOT_FOUND,
    ),
    *(
        action(
            f"/api/refunds/{{refund_id}}/{name}",
            summary=_summary(decision),
            body=RefundRequest,
            refusals={
                **_NOT_FOUND,
                "409": "Payments refuses: "
                f"{'`not_claimed`' if name == 'approve' else '`refund_closed`'} "
                "(the refund's status does not allow it).",
                "422": "`note_required`, `note_too_long`, `invalid_transaction_id`, or a bad body.",
            },
        )
        for name, decision in DECISIONS.items()
    ),
    action(
        "/api/orders/{order_id}/refund-unrevealed",
        summary="Refund a fulfilled order none of whose keys was revealed: delivery revokes "
        "its keys, and payments records a refund due. Audited with the note (required).",
        body=RefundRequest,
        refusals={
            "404": "`order_not_found`, or delivery's `no_keys`.",
            "409": "Delivery refuses: `keys_revealed` or `already_revoked`.",
            "422": "`note_required`, `note_too_long`, or a bad body.",
        },
    ),
    action(
        "/api/orders/{order_id}/notices/resend",
        summary="Send a customer notice of the order again (audited).",
        body=RefundRequest,
        refusals={
            "404": "`order_not_found`, or delivery's `no_such_notice` (never sent).",
            "422": "`invalid_kind`, or a bad body.",
        },
    ),
]
