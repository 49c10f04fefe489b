"""The pages of a payment flag, with a form for each decision payments leaves open, and
of one IPN, with its replay form when payments gave up on it. The forms post to
`pages_repair`, which acts and shows what came of it."""

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.flags import MAX_NOTE, amounts, open_decisions
from bitloot_admin.domain.listings import linked
from bitloot_admin.entrypoints.confirm import ONSUBMIT
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.pages_views import cells
from bitloot_admin.entrypoints.params import row_id
from bitloot_admin.entrypoints.render import page
from bitloot_admin.handlers.flags import FlagNotFound, ShowFlag
from bitloot_admin.handlers.listings import ShowDocument
from bitloot_contracts.topics import PAYMENTS
from bitloot_runtime.http import HttpError
from bitloot_runtime.idempotency import Endpoint


def routes(web: AdminWeb) -> list[BaseRoute]:
    return [
        Route("/flags/{flag_id}", _flag(web), methods=["GET"]),
        Route("/ipns/{ipn_id}", _ipn(web), methods=["GET"]),
    ]


def _flag(web: AdminWeb) -> Endpoint:
    async def shown(request: Request) -> Response:
        try:
            flag_id = row_id(request, "flag_id", "flag")
            view = await ShowFlag(web.upstream)(flag_id)
        except HttpError as exc:
            return page(web, request, "error.html", {"error": exc.detail}, exc.status)
        except FlagNotFound:
            return page(web, request, "error.html", {"error": "No such flag."}, 404)
        flag = view.flag
        context = {
            "flag_id": flag_id,
            "flag": flag,
            "amounts": amounts(flag.data) if flag else [],
            "refunds": cells(flag.refunds) if flag else ([], []),
            "decisions": open_decisions(flag.decisions) if flag else [],
            "onsubmit": ONSUBMIT,
            "max_note": MAX_NOTE,
            "partial": view.partial,
        }
        return page(web, request, "flag.html", context)

    return shown


def _ipn(web: AdminWeb) -> Endpoint:
    async def shown(request: Request) -> Response:
        try:
            ipn_id = row_id(request, "ipn_id", "ipn")
        except HttpError as exc:
            return page(web, request, "error.html", {"error": exc.detail}, exc.status)
        found = await ShowDocument(web.upstream)(PAYMENTS, f"/internal/ipns/{ipn_id}")
        if found.document is None and not found.partial:
            return page(web, request, "error.html", {"error": "No such IPN."}, 404)
        ipn = found.document or {}
        raw_body = ipn.get("raw_body")
        shown_fields = {name: value for name, value in ipn.items() if name != "raw_body"}
        context = {
            "ipn_id": ipn_id,
            "ipn": found.document,
            "fields": _fields(shown_fields),
            "raw_body": raw_body if isinstance(raw_body, str) else None,
            "partial": found.partial,
            "onsubmit": ONSUBMIT["ipn-replay"],
        }
        return page(web, request, "ipn.html", context)

    return shown


def _fields(document: dict[str, JsonValue]) -> list[tuple[str, str, str | None]]:
    """Each field as (name, text, link): an order or a payment links to its page."""
    header, rows = cells([document])
    texts = rows[0] if rows else []
    return [
        (name, text, linked(name, document[name])) for name, text in zip(header, texts, strict=True)
    ]
