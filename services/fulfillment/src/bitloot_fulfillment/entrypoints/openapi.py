"""``GET /openapi.json``: the OpenAPI description of the fulfillment API (the internal
API and, as the ``x-websockets`` extension, the live status socket); a test checks
every route is described."""

from typing import Any, get_args

from bitloot_contracts.events import OrderState
from bitloot_fulfillment.entrypoints.internal import HandDelivery
from bitloot_fulfillment.entrypoints.live import FORBIDDEN, UNAUTHORIZED
from bitloot_runtime.openapi import LIMIT, OFFSET, ORDER_TOKEN_SCHEME, errors, ok, operation, query
from bitloot_runtime.openapi import describe as describe_api

_SECONDS = {"type": "integer", "minimum": 0}
_BAD_ORDER_ID = errors({"422": "The order id is not a UUID (`invalid_order_id`)."})

PATHS: dict[str, dict[str, Any]] = {
    "/internal/stats": {
        "get": operation(
            "What the admin's home page counts: per hour since `since` (hours with nothing "
            "left out) and over the whole window (`window`), orders fulfilled and failed and "
            "time-to-key p50/p99 in seconds (saga start, when payment finished, to "
            "fulfilled); and now, failed orders not yet refunded and orders stuck past the "
            "deadline (count, newest 20).",
            {
                **ok("The figures."),
                **errors(
                    {
                        "422": "`since` is missing, not a time with zone, in the future or "
                        "more than 31 days ago (`invalid_since`)."
                    }
                ),
            },
            parameters=[
                query(
                    "since",
                    {"type": "string", "format": "date-time"},
                    "Count from this time (required).",
                )
            ],
        )
    },
    "/internal/sagas": {
        "get": operation(
            "Sagas (one per order) by state and age.",
            {**ok("A page."), **errors({"422": "A filter is invalid; `error` names it."})},
            parameters=[
                query(
                    "order_id",
                    {"type": "array", "items": {"type": "string", "format": "uuid"}},
                    "Repeatable.",
                ),
                query("state", {"enum": sorted(get_args(OrderState))}),
                query("older_than", _SECONDS, "Created at least this many seconds ago."),
                query("stuck_for", _SECONDS, "Unchanged for at least this many seconds."),
                LIMIT,
                OFFSET,
            ],
        )
    },
    "/internal/orders/{order_id}/timeline": {
        "get": operation(
            "What the saga did for an order.", {**ok("The timeline."), **_BAD_ORDER_ID}
        )
    },
    "/internal/orders/{order_id}/retry": {
        "post": operation(
            "Retry a failed or stuck saga.",
            {
                **ok("The state before and after, and in words what the saga now waits for."),
                **_BAD_ORDER_ID,
                **errors({"404": "No saga.", "409": "Not retryable now; `error` says why."}),
            },
        )
    },
    "/internal/orders/{order_id}/deliver-by-hand": {
        "post": operation(
            "Hand keys an admin entered, sealed to delivery's public key, to delivery "
            "(once, for a failed order or one past its deadline). The admin is named in "
            "X-Bitloot-Actor.",
            {
                **ok("The saga's new state (`delivering`)."),
                **errors(
                    {
                        "404": "No saga.",
                        "409": "Not now: `already_delivered_by_hand`, `order_refunded`, "
                        "`keys_already_with_delivery` or `not_failed_or_stuck`.",
                        "422": "Bad order id or body, no actor (`actor_missing`), or not "
                        "as many keys as the order holds (`key_count_mismatch`).",
                    }
                ),
            },
            body=HandDelivery,
        )
    },
}

WEBSOCKETS = {
    "/ws/orders/{order_id}": {
        "summary": "An order's status, live: the current one at once, each change, heartbeats. "
        "Each status frame's `customer_status` is in the customer's words (never null: "
        "`awaiting_payment` before the order is paid); `delay` says why keys are late.",
        "security": [{"orderToken": []}, {"adminSession": []}],
        "parameters": [
            {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}},
            query("token", description="The token, for browsers that cannot set headers."),
        ],
        "close_codes": {
            str(UNAUTHORIZED): "No valid token (the reason names it).",
            str(FORBIDDEN): "A valid order token for another order.",
        },
    }
}


SCHEMES = {
    "orderToken": ORDER_TOKEN_SCHEME,
    "adminSession": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"},
}


def describe() -> dict[str, Any]:
    """The fulfillment service's OpenAPI document."""
    extensions = {"x-websockets": WEBSOCKETS}
    return describe_api(
        "BitLoot fulfillment API", PATHS, security_schemes=SCHEMES, extensions=extensions
    )
