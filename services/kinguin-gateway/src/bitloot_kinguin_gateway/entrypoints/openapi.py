"""``GET /openapi.json``: the OpenAPI description of the gateway's API, Kinguin's webhook
and the internal API, generated from the routes' declarations (the webhook body from the
model that validates it); a test checks every route is described."""

from collections.abc import Sequence

from starlette.routing import BaseRoute

from bitloot_kinguin_gateway.entrypoints.webhook_auth import SIGNATURE_HEADER
from bitloot_runtime.openapi import Schema
from bitloot_runtime.openapi import describe as describe_api


def describe(routes: Sequence[BaseRoute], secret_header: str) -> Schema:
    """The gateway's OpenAPI document of `routes`; Kinguin's secret arrives in `secret_header`."""
    return describe_api(
        "BitLoot Kinguin gateway API",
        routes=routes,
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
