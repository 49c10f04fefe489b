"""``GET /openapi.json``: the OpenAPI description of the delivery API: the reveal page,
the customer's fresh link and the internal API; a test checks every route is described."""

from typing import Any

from bitloot_delivery.adapters.object_store import MAX_PRESIGN_SECONDS
from bitloot_delivery.entrypoints.refunds import ResendRequest, RevokeRequest
from bitloot_runtime.openapi import ERROR, ORDER_TOKEN_SCHEME, PUBLIC, errors, ok, operation, query
from bitloot_runtime.openapi import describe as describe_api

_BAD_ORDER_ID = {"422": "The order id is not a UUID (`invalid_order_id`)."}
_UNAVAILABLE = {
    **_BAD_ORDER_ID,
    "404": "No keys were delivered for the order (`delivery_not_found`).",
    "410": "The keys were deleted at the end of retention (`keys_purged`), or revoked when "
    "the order was refunded (`order_refunded`).",
}
_REFUNDED_JSON = {"application/json": {"schema": ERROR}, "text/html": {}}
_ACTOR = {
    "name": "X-Bitloot-Actor",
    "in": "header",
    "schema": {"type": "string"},
    "description": "The acting admin, for the audit.",
}
_LINK = ok("A fresh reveal link (`Cache-Control: no-store`).", status="201")


def _page(description: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {"text/html": {}}}}


def _view(summary: str, *extra: dict[str, str]) -> dict[str, Any]:
    answers: dict[str, str] = {}
    for more in (_BAD_ORDER_ID, *extra):
        answers |= more
    return {"get": operation(summary, {**ok("The view."), **errors(answers)})}


PATHS: dict[str, dict[str, Any]] = {
    "/keys/{token}": {
        "get": operation(
            "The reveal page: the keys, for the holder of the link's token (in the path).",
            {
                **_page("The keys."),
                **_page("The link is not valid; the page offers a fresh one.", "401"),
                "410": {
                    "description": "The link expired, the keys were deleted, or the order was "
                    "refunded and its keys withdrawn (`order_refunded`, JSON when asked for).",
                    "content": _REFUNDED_JSON,
                },
                **_page("The keys cannot be shown just now.", "503"),
            },
            security=PUBLIC,
        )
    },
    "/keys/-/copy.js": {
        "get": operation(
            "The reveal page's copy-button script (the one script its policy allows).",
            {"200": {"description": "The script.", "content": {"text/javascript": {}}}},
            security=PUBLIC,
        )
    },
    "/keys/{token}/fresh-link": {
        "post": operation(
            "Email a fresh link to the order's address, if the token names an order (the "
            "answer is the same either way).",
            {
                **_page("Accepted.", "202"),
                "410": {
                    "description": "The link's order was refunded and its keys withdrawn "
                    "(`order_refunded`); JSON when asked for.",
                    "content": _REFUNDED_JSON,
                },
                "429": {
                    "description": "Too many fresh links (`Retry-After`); JSON when asked for.",
                    "content": {"application/json": {"schema": ERROR}, "text/html": {}},
                },
            },
            security=PUBLIC,
        )
    },
    "/orders/{order_id}/link": {
        "post": operation(
            "A fresh reveal link in the answer, for the holder of the order token.",
            {
                **_LINK,
                **errors(
                    {
                        **_UNAVAILABLE,
                        "403": "The token is for another order (`token_wrong_order`).",
                        "503": "Order tokens are not set up (`order_tokens_not_configured`).",
                    }
                ),
            },
            security=[{"orderToken": []}],
        )
    },
    "/internal/deliveries/{order_id}": _view(
        "The delivery's summary.", {"404": "No delivery (`delivery_not_found`)."}
    ),
    "/internal/orders/{order_id}/timeline": _view("What delivery did for an order."),
    "/internal/orders/{order_id}/audit": _view("The key audit: reveals and key events."),
    "/internal/orders/{order_id}/emails": {
        **_view("The email log."),
        "post": operation(
            "Email a fresh link to the order's address.",
            {**ok("Queued.", status="202"), **errors(_UNAVAILABLE)},
            parameters=[_ACTOR],
        ),
    },
    "/internal/orders/{order_id}/link": {
        "post": operation(
            "A fresh reveal link in the answer.",
            {**_LINK, **errors(_UNAVAILABLE)},
            parameters=[_ACTOR],
        )
    },
    "/internal/orders/{order_id}/object-url": {
        "get": operation(
            "A presigned GET of the order's sealed keys object.",
            {**ok("The URL and its expiry."), **errors(_UNAVAILABLE)},
            parameters=[
                _ACTOR,
                query(
                    "ttl_seconds", {"type": "integer", "minimum": 1, "maximum": MAX_PRESIGN_SECONDS}
                ),
            ],
        )
    },
    "/internal/orders/{order_id}/revoke": {
        "post": operation(
            "Revoke the order's keys, never revealed, as it is refunded (emits keys.revoked).",
            {
                **ok("Revoked: order_id, key_count, revoked_at."),
                **errors(
                    {
                        "404": "No keys were delivered for the order (`no_keys`).",
                        "409": "A key was revealed (`keys_revealed`), or the keys are "
                        "already revoked (`already_revoked`).",
                    }
                ),
            },
            body=RevokeRequest,
        )
    },
    "/internal/orders/{order_id}/notices/resend": {
        "post": operation(
            "Send a notice (refund_due, refund_sent, delayed) again, on an admin's request.",
            {
                **ok("Queued: order_id, email_id.", status="202"),
                **errors({"404": "The order never had such a notice (`no_such_notice`)."}),
            },
            body=ResendRequest,
        )
    },
}


def describe() -> dict[str, Any]:
    """The delivery service's OpenAPI document."""
    return describe_api(
        "BitLoot delivery API", PATHS, security_schemes={"orderToken": ORDER_TOKEN_SCHEME}
    )
