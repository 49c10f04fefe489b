"""Pages of single documents the services keep: a payment with its IPN history, a logged
webhook, an order's key audit and its email log. Lists inside a document are tables."""

from collections.abc import Callable

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.pages_views import cells
from bitloot_admin.entrypoints.params import item_id, order_id
from bitloot_admin.entrypoints.render import page
from bitloot_admin.handlers.listings import ShowDocument
from bitloot_contracts.topics import DELIVERY, KINGUIN_GATEWAY, PAYMENTS
from bitloot_runtime.http import HttpError
from bitloot_runtime.idempotency import Endpoint

# The path of the document at its service, from the admin page's path parameters.
Locate = Callable[[Request], str]


def routes(web: AdminWeb) -> list[BaseRoute]:
    return [
        Route("/payments/{item_id}", _page(web, "Payment", PAYMENTS, _item("payments"))),
        Route("/webhooks/{item_id:int}", _page(web, "Webhook", KINGUIN_GATEWAY, _item("webhooks"))),
        Route(
            "/orders/{order_id}/key-audit", _page(web, "Key audit", DELIVERY, _of_order("audit"))
        ),
        Route("/orders/{order_id}/emails", _page(web, "Emails", DELIVERY, _of_order("emails"))),
    ]


def _item(collection: str) -> Locate:
    def locate(request: Request) -> str:
        return f"/internal/{collection}/{item_id(request, collection)}"

    return locate


def _of_order(leaf: str) -> Locate:
    def locate(request: Request) -> str:
        return f"/internal/orders/{order_id(request)}/{leaf}"

    return locate


def _page(web: AdminWeb, title: str, service: str, locate: Locate) -> Endpoint:
    async def shown(request: Request) -> Response:
        try:
            path = locate(request)
        except HttpError as exc:
            return page(web, request, "error.html", {"error": exc.detail}, exc.status)
        found = await ShowDocument(web.upstream)(service, path)
        if found.document is None and not found.partial:
            return page(web, request, "error.html", {"error": f"No such {title.lower()}."}, 404)
        document = found.document or {}
        fields = {k: v for k, v in document.items() if not _is_table(v)}
        tables = {k: cells(_rows(v)) for k, v in document.items() if _is_table(v)}
        context = {"title": title, "fields": cells([fields])[0], "values": fields}
        return page(
            web, request, "document.html", {**context, "tables": tables, "partial": found.partial}
        )

    return shown


def _is_table(value: JsonValue) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _rows(value: JsonValue) -> list[dict[str, JsonValue]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
