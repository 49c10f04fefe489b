"""``GET /openapi.json``: the OpenAPI description of the gateway's API, Kinguin's webhook
and the internal API; the webhook body comes from the model that validates it, and a
test checks every route is described."""

from typing import Any

from bitloot_kinguin_gateway.domain.reservation import STATES
from bitloot_kinguin_gateway.entrypoints.webhooks import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    OrderStatusBody,
)
from bitloot_kinguin_gateway.handlers.catalog import PRODUCT_UPDATE
from bitloot_kinguin_gateway.handlers.webhooks import ORDER_STATUS
from bitloot_runtime.openapi import LIMIT, OFFSET, errors, ok, operation, query
from bitloot_runtime.openapi import describe as describe_api

_UUID = {"type": "string", "format": "uuid"}
_FLAG = {"enum": ["true", "false"]}
_BAD_QUERY = errors({"422": "A filter is invalid (`invalid_filter`, `invalid_limit`)."})
_NOT_FOUND = errors({"404": "No such reservation."})


def _listing(summary: str, *filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": operation(
            summary, {**ok("A page."), **_BAD_QUERY}, parameters=[LIMIT, OFFSET, *filters]
        )
    }


PATHS: dict[str, dict[str, Any]] = {
    "/kinguin/webhooks": {
        "post": operation(
            f"Kinguin's notifications: `{ORDER_STATUS}` (the body below) and `{PRODUCT_UPDATE}` "
            "(`{kinguinId, productId, qty, textQty, cheapestOfferId, updatedAt}`, for the "
            "products the catalog lists) are applied, any other event only logged. Every call "
            "is logged once, refused ones included.",
            {"204": {"description": "Received."}},
            security=[{"kinguinSecret": []}, {"kinguinSignature": []}],
            parameters=[{"name": EVENT_HEADER, "in": "header", "schema": {"type": "string"}}],
            body=OrderStatusBody,
            body_errors={
                "400": "Malformed JSON (`malformed_json`), a key given twice "
                "(`duplicate_json_key`) or an invalid notification (`invalid_webhook`).",
                "413": "Larger than 64 KiB (`body_too_large`).",
            },
        )
    },
    "/internal/reservations": _listing(
        "Reservations (Kinguin orders), newest first.",
        query("status", {"enum": sorted(STATES)}),
        query("order_id", _UUID),
        query("reservation_id", _UUID),
    ),
    "/internal/reservations/{order_id:uuid}": {
        "get": operation(
            "An order's reservation.",
            {
                **ok(
                    "The reservation, every Kinguin order it used (`kinguin_orders`) and "
                    "its key returns to Kinguin (`key_returns`: state requested, returned, "
                    "refused, unknown or not_returnable, with the reason)."
                ),
                **_NOT_FOUND,
            },
        )
    },
    "/internal/orders/{order_id:uuid}/timeline": {
        "get": operation("What the gateway did for an order.", ok("The timeline."))
    },
    "/internal/kinguin/status/{reservation_id:uuid}": {
        "get": operation(
            "What Kinguin says now about a reservation's order.",
            {
                **ok("Kinguin's status beside the recorded one."),
                **_NOT_FOUND,
                **errors(
                    {
                        "502": "Kinguin refused the call.",
                        "503": "Kinguin did not answer (`kinguin_unavailable`).",
                    }
                ),
            },
        )
    },
    "/internal/balance": {
        "get": operation(
            "The Kinguin balance (EUR) as this instance last read it, whether it is below "
            "KINGUIN_GATEWAY_BALANCE_LOW, and why the last read failed if it did (the "
            "balance shown is then `stale`). `balance_eur` and `low` are null until a "
            "first read succeeds.",
            ok("The last reading."),
        )
    },
    "/internal/webhooks": _listing(
        "Logged webhook calls, newest first.",
        query("order_id", _UUID),
        query("event_name"),
        query("authenticated", _FLAG),
        query("duplicate", _FLAG),
    ),
    "/internal/webhooks/{webhook_id:int}": {
        "get": operation(
            "One logged call with its headers (secrets redacted) and raw body.",
            {**ok("The call."), **errors({"404": "No such call."})},
        )
    },
    "/internal/webhooks/{webhook_id:int}/replay": {
        "post": operation(
            "Apply a logged, authenticated `order.status` call again.",
            {
                **ok("The call as settled."),
                **errors({"404": "No such call.", "409": "Not replayable; `error` says why."}),
            },
        )
    },
}


def describe(secret_header: str) -> dict[str, Any]:
    """The gateway's OpenAPI document; Kinguin's secret arrives in `secret_header`."""
    return describe_api(
        "BitLoot Kinguin gateway API",
        PATHS,
        security_schemes={
            "kinguinSecret": {"type": "apiKey", "in": "header", "name": secret_header},
            "kinguinSignature": {
                "type": "apiKey",
                "in": "header",
                "name": SIGNATURE_HEADER,
                "description": "Hex HMAC-SHA512 of the raw body under the webhook secret.",
            },
        },
    )
