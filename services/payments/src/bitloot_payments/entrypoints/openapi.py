"""``GET /openapi.json``: the OpenAPI description of the payments API, public and
internal (the customer's pages too, HTML or JSON), generated from the routes'
declarations (`ApiRoute`). A test checks every route is described."""

from collections.abc import Sequence

from starlette.routing import BaseRoute

from bitloot_runtime.openapi import ORDER_TOKEN_SCHEME, Schema
from bitloot_runtime.openapi import describe as describe_api


def describe(routes: Sequence[BaseRoute]) -> Schema:
    """The payments service's OpenAPI document, of `routes`."""
    return describe_api(
        "BitLoot payments API",
        routes=routes,
        security_schemes={
            "orderToken": ORDER_TOKEN_SCHEME,
            "orderTokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            "nowpaymentsSignature": {"type": "apiKey", "in": "header", "name": "x-nowpayments-sig"},
        },
    )
