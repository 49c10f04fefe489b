"""``GET /openapi.json``: the OpenAPI description of the payments API, public and
internal, generated from the routes' declarations (`ApiRoute`); the pages (the order
page, the refund claim page), which answer HTML or JSON, are described here. A test
checks every route is described."""

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute

from bitloot_payments.entrypoints.internal import FULFILMENT_STATE
from bitloot_runtime.openapi import ERROR, ORDER_TOKEN_SCHEME, PUBLIC, Schema, operation, query
from bitloot_runtime.openapi import describe as describe_api

_ORDER_TOKEN: list[dict[str, list[str]]] = [{"orderToken": []}, {"orderTokenQuery": []}]


def _page_or_json(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"text/html": {}, "application/json": {"schema": {"type": "object"}}},
    }


def _refusals(statuses: dict[str, str]) -> dict[str, Any]:
    """Refusals of the claim page: a page, or the one error shape for JSON clients."""
    content = {"text/html": {}, "application/json": {"schema": ERROR}}
    return {status: {"description": text, "content": content} for status, text in statuses.items()}


_CLAIM_FORM = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["token"],
                "properties": {
                    "token": {"type": "string", "description": "The claim link's token."},
                    "address": {"type": "string", "maxLength": 128},
                    "extra_id": {
                        "type": "string",
                        "maxLength": 128,
                        "description": "Memo / destination tag, for currencies that have one.",
                    },
                },
            }
        }
    },
}
_TOKEN_REFUSALS = {
    "401": "The link is not valid (`token_missing`, `token_invalid`); nothing changes.",
    "410": "The link expired (`token_expired`): the page offers a new link.",
}


def _claim(summary: str, answers: dict[str, Any], *, form: bool) -> dict[str, Any]:
    described = operation(summary, answers, security=PUBLIC)
    if form:
        described["requestBody"] = _CLAIM_FORM
    return described


CLAIM_PATHS: dict[str, dict[str, Any]] = {
    "/refunds/claim": {
        "get": _claim(
            "The claim page of the refund the link names: order, amount, currency, why, and "
            "the payout address form (HTML; JSON with Accept: application/json).",
            {
                "200": _page_or_json("The refund and, while due, the form."),
                **_refusals(_TOKEN_REFUSALS),
            },
            form=False,
        )
        | {"parameters": [query("token", description="The claim link's token.")]},
        "post": _claim(
            "Claim the refund: where to send it. Validated (format and checksum where "
            "known) before anything is stored.",
            {
                "200": _page_or_json("Claimed; what happens next."),
                **_refusals(
                    {
                        **_TOKEN_REFUSALS,
                        "400": "The form could not be read (`invalid_form`).",
                        "409": "Already claimed (`already_claimed`) or no longer open "
                        "(`refund_closed`); nothing changes.",
                        "413": "The form is too large (`body_too_large`).",
                        "422": "The address or extra id is refused (`address_required`, "
                        "`address_too_long`, `address_invalid`, `address_checksum`, "
                        "`extra_id_required`, `extra_id_invalid`, `extra_id_not_accepted`); "
                        "nothing changes.",
                        "429": "Too many claims from this address or for this refund "
                        "(`rate_limited`, Retry-After).",
                    }
                ),
            },
            form=True,
        ),
    },
    "/refunds/claim/new-link": {
        "post": _claim(
            "An expired link's page asks for a new claim link, emailed to the order's address.",
            {
                "200": _page_or_json("The refund is no longer due: where it stands."),
                "202": _page_or_json("A new link was asked for."),
                **_refusals(
                    {
                        "401": "The link is not genuine (`token_missing`, `token_invalid`).",
                        "400": "The form could not be read (`invalid_form`).",
                        "413": "The form is too large (`body_too_large`).",
                        "429": "Too many new links (`rate_limited`, Retry-After).",
                    }
                ),
            },
            form=True,
        )
    },
}


PAGES: dict[str, dict[str, Any]] = {
    "/orders/{order_id:uuid}": {
        "get": operation(
            "The order's status, for the holder of its order token: JSON for API clients "
            "(any Accept but one that takes text/html without application/json), the "
            "customer's order page for a browser (its status live over fulfillment's "
            "WS /ws/orders/{order_id}, through /orders/live.js).",
            {
                "200": _page_or_json(f"The order (JSON: {FULFILMENT_STATE})"),
                **_refusals(
                    {
                        "401": "No valid order token (`token_missing`, `token_invalid`, "
                        "`token_expired`).",
                        "403": "The token is for another order (`token_wrong_order`).",
                        "404": "No such order (`order_not_found`).",
                    }
                ),
            },
            security=_ORDER_TOKEN,
        )
    },
    "/orders/live.js": {
        "get": operation(
            "The order page's script (it follows the live status and updates the page).",
            {"200": {"description": "JavaScript.", "content": {"text/javascript": {}}}},
            security=PUBLIC,
        )
    },
    **CLAIM_PATHS,
}


def describe(routes: Sequence[BaseRoute]) -> Schema:
    """The payments service's OpenAPI document, of `routes`."""
    return describe_api(
        "BitLoot payments API",
        PAGES,
        routes=routes,
        security_schemes={
            "orderToken": ORDER_TOKEN_SCHEME,
            "orderTokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            "nowpaymentsSignature": {"type": "apiKey", "in": "header", "name": "x-nowpayments-sig"},
        },
    )
