"""``GET /admin/openapi.json``: the OpenAPI description of the admin API, generated from
its routes' declarations (`bitloot_runtime.openapi.ApiRoute`) under ``/admin``; the
login, which also serves the browser's form, is described here. A test checks that
every API route is described."""

from collections.abc import Sequence

from starlette.routing import BaseRoute

from bitloot_admin.entrypoints.api import SCHEMES
from bitloot_admin.entrypoints.params import LoginRequest
from bitloot_runtime.openapi import PUBLIC, Schema, errors, operation, with_key
from bitloot_runtime.openapi import describe as describe_api

LOGIN = operation(
    "Log in: JSON {username, password, totp} answers {token} (a Bearer session); 429 with "
    "Retry-After when rate limited, 423 when locked. `totp` is the authenticator app's code, "
    "or a recovery code: needed once the account has a second factor (`totp_required`).",
    {
        "200": {"description": "The session token."},
        **errors(
            {
                "401": "Wrong credentials or code (`invalid_credentials`, `totp_*`).",
                "423": "Locked.",
                "429": "Too many logins.",
            }
        ),
    },
    security=PUBLIC,
    body=LoginRequest,
)
# Handing keys over by hand is once per order by the saga itself.
_ONCE_PER_ORDER = "/api/orders/{order_id}/deliver-keys"


def describe(routes: Sequence[BaseRoute]) -> Schema:
    """The admin API's OpenAPI document, of `routes` (the app's, mounted at /admin).
    Every action is answered once per ``Idempotency-Key`` (`keys`)."""
    document = describe_api("BitLoot admin API", {"/login": {"post": LOGIN}}, routes=routes)
    paths: dict[str, Schema] = {}
    for path, operations in document["paths"].items():
        if path.startswith("/api/") and path != _ONCE_PER_ORDER and "post" in operations:
            operations = {**operations, "post": with_key(operations["post"])}
        if path.startswith(("/api/", "/login")):
            paths["/admin" + path] = operations
    document["components"]["securitySchemes"] = SCHEMES
    return {**document, "paths": paths}
