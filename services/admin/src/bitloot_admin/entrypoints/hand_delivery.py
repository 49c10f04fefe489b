"""Delivering keys by hand: ``POST /admin/api/orders/{id}/deliver-keys`` (JSON) and the
order page's form (``GET``/``POST /admin/orders/{id}/deliver-keys``, one text area per
product, one key per line). Both are audited; neither ever echoes a key back."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.hand_keys import (
    MAX_KEY_LENGTH,
    MAX_KEYS,
    HandKey,
    HandKeys,
    keys_from_text,
)
from bitloot_admin.entrypoints.api_actions import ActionResult, csrf, outcome_response
from bitloot_admin.entrypoints.confirm import ONSUBMIT
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.openapi import route
from bitloot_admin.entrypoints.params import order_id, read_form
from bitloot_admin.entrypoints.render import page
from bitloot_admin.entrypoints.session import check_csrf
from bitloot_admin.handlers.hand_delivery import OrderLines
from bitloot_admin.handlers.repairs import Outcome, ReadBackOrder
from bitloot_contracts.topics import ADMIN
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, parse_body, read_json
from bitloot_runtime.idempotency import Endpoint

# Every key of the largest order, with room for the form's field names.
MAX_KEYS_BODY = MAX_KEYS * (MAX_KEY_LENGTH * 3 + 64) + 4096


def hand_delivery_response(outcome: Outcome) -> Response:
    """The action's answer; the admin's own refusals (bad keys, nothing configured) carry
    their own code and status."""
    if outcome.service == ADMIN and not outcome.ok:
        detail = outcome.body.get("detail")
        body = {
            "error": outcome.body.get("error"),
            "detail": detail if isinstance(detail, str) else "Refused.",
            "fields": [],
        }
        return JSONResponse(body, status_code=outcome.status)
    return outcome_response(outcome)


def routes(web: AdminWeb) -> list[BaseRoute]:
    """The API action and the form."""
    return [
        API,
        Route("/orders/{order_id}/deliver-keys", _form(web), methods=["GET"]),
        Route("/orders/{order_id}/deliver-keys", _submit(web), methods=["POST"]),
    ]


async def deliver_keys(request: Request) -> Response:
    csrf(request)
    wanted = order_id(request)
    _raw, document = await read_json(request, MAX_KEYS_BODY)
    keys = parse_body(HandKeys, document).keys
    web = dependencies(request, AdminWeb)
    return hand_delivery_response(await web.hand_delivery(request.state.admin, wanted, keys))


# Once per order by the saga itself, so not per ``Idempotency-Key``.
API = route(
    "/api/orders/{order_id}/deliver-keys",
    deliver_keys,
    method="POST",
    summary="Deliver a failed or stuck order's keys by hand, once (audited without the keys).",
    response=ActionResult,
    body=HandKeys,
    refusals={
        "404": "No such order (`order_not_found`).",
        "409": "Fulfillment refuses: `already_delivered_by_hand`, `order_refunded`, "
        "`keys_already_with_delivery` or `not_failed_or_stuck`.",
        "422": "The body is not `{keys: [{serial, type, product_id}]}`, or the keys do not "
        "fit the order: `key_count_mismatch`, `duplicate_key`, `key_not_printable`.",
        "503": "Fulfillment did not answer, or `hand_delivery_not_configured`.",
    },
)


def _form(web: AdminWeb) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        wanted = order_id(request)
        lines = await OrderLines(web.upstream)(wanted)
        context: dict[str, object] = {
            "order_id": wanted,
            "lines": sorted(lines.items()) if isinstance(lines, dict) else [],
            "problem": None if isinstance(lines, dict) else lines,
            "configured": web.hand_delivery.delivery_key is not None,
            "onsubmit": ONSUBMIT["deliver_keys"],
        }
        return page(web, request, "deliver_keys.html", context)

    return endpoint


def _submit(web: AdminWeb) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        wanted = order_id(request)
        try:
            form = await read_form(request, MAX_KEYS_BODY)
            check_csrf(request, form.get("csrf"))
            keys = _keys_of(form)
        except HttpError as exc:
            return page(web, request, "error.html", {"error": exc.detail}, exc.status)
        outcome = await web.hand_delivery(request.state.admin, wanted, keys)
        context = {
            "what": f"Delivering keys by hand to order {wanted}",
            "outcome": outcome,
            "back": f"/admin/orders/{wanted}",
            "read_back": await ReadBackOrder(web.upstream)(wanted, outcome),
        }
        return page(web, request, "action.html", context, 200 if outcome.ok else 502)

    return endpoint


def _keys_of(form: dict[str, str]) -> list[HandKey]:
    """The keys of the form's text areas: ``product_<n>`` names the product of
    ``keys_<n>``. A malformed key is refused naming its product, never quoting it."""
    keys: list[HandKey] = []
    for name, product_id in form.items():
        if not name.startswith("product_"):
            continue
        text = form.get("keys_" + name.removeprefix("product_"), "")
        try:
            keys += keys_from_text(text, product_id)
        except ValueError:
            raise HttpError(
                422,
                "invalid_key",
                f"A key of product {product_id[:128]} is longer than {MAX_KEY_LENGTH} "
                "characters, or the product id is invalid.",
            ) from None
    if not keys or len(keys) > MAX_KEYS:
        raise HttpError(422, "invalid_key_count", f"Enter 1 to {MAX_KEYS} keys.")
    return keys
