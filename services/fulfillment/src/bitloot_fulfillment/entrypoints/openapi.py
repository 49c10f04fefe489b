"""``GET /openapi.json``: the OpenAPI description of the fulfillment API, generated from
its routes' declarations, and the live status socket as the ``x-websockets`` extension;
a test checks every route is described."""

from collections.abc import Sequence

from pydantic import JsonValue
from starlette.routing import BaseRoute

from bitloot_fulfillment.entrypoints.live import FORBIDDEN, UNAUTHORIZED
from bitloot_runtime.openapi import ORDER_TOKEN_SCHEME, Schema, query
from bitloot_runtime.openapi import describe as describe_api

WEBSOCKETS: dict[str, JsonValue] = {
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


def describe(routes: Sequence[BaseRoute]) -> Schema:
    """The fulfillment service's OpenAPI document, of `routes`."""
    extensions = {"x-websockets": WEBSOCKETS}
    return describe_api(
        "BitLoot fulfillment API", routes=routes, security_schemes=SCHEMES, extensions=extensions
    )
