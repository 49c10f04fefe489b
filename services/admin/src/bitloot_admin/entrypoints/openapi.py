"""``GET /admin/openapi.json``: the OpenAPI description of the admin API, generated from
its routes' declarations (`route`, an `ApiRoute` behind a session; the login's) under
``/admin``. A test checks that every API route is described."""

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from starlette.routing import BaseRoute

from bitloot_runtime.idempotency import Endpoint
from bitloot_runtime.openapi import ApiRoute, Schema, with_key
from bitloot_runtime.openapi import describe as describe_api

ADMIN_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"cookie": []}]
SCHEMES: Schema = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "bitloot_admin"},
}
GUARDED = {
    "403": "The admin's role may not do this (`forbidden_role`), an owner must enrol a "
    "second factor first (`totp_enrolment_required`), or a browser's action lacks its CSRF "
    "token (`csrf_failed`).",
}
NOT_FOUND = {"404": "Not found (`not_found`, or `<what>_not_found` for a bad id)."}
ORDER_404 = {"404": "No such order (`order_not_found`)."}


def route(
    path: str,
    endpoint: Endpoint,
    *,
    summary: str,
    response: type[BaseModel],
    refusals: Mapping[str, str] | None = None,
    **more: Any,
) -> ApiRoute:
    """An admin API route: behind a session (`ADMIN_SECURITY`), refused 403 by role."""
    return ApiRoute(
        path,
        endpoint,
        summary=summary,
        response=response,
        refusals={**GUARDED, **(refusals or {})},
        security=ADMIN_SECURITY,
        **more,
    )


# Handing keys over by hand is once per order by the saga itself.
_ONCE_PER_ORDER = "/api/orders/{order_id}/deliver-keys"


def describe(routes: Sequence[BaseRoute]) -> Schema:
    """The admin API's OpenAPI document, of `routes` (the app's, mounted at /admin).
    Every action is answered once per ``Idempotency-Key`` (`keys`)."""
    document = describe_api("BitLoot admin API", routes=routes)
    paths: dict[str, Schema] = {}
    for path, operations in document["paths"].items():
        if path.startswith("/api/") and path != _ONCE_PER_ORDER and "post" in operations:
            operations = {**operations, "post": with_key(operations["post"])}
        if path.startswith(("/api/", "/login")):
            paths["/admin" + path] = operations
    document["components"]["securitySchemes"] = SCHEMES
    return {**document, "paths": paths}
