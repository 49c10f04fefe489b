"""Who may call each admin route: ONE table, keyed by (method, path) as the routes
declare them, and the wrapper that enforces it on every route of the admin app.

`guard_routes` refuses to build the app if a route is missing from the table (or the
table names a route nobody serves), so a new route cannot ship without a decision.
`PUBLIC` routes need no session; every other row names the lowest role that may call
it (`Role`): a viewer reads, an operator repairs, an owner also approves refunds,
enters keys by hand and manages accounts. An owner without a second factor may call
only `BEFORE_ENROLMENT` until it has enrolled one."""

import inspect
from collections.abc import Callable, Mapping
from typing import Final, Literal

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.roles import Role
from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.idempotency import Endpoint

Public = Literal["public"]
PUBLIC: Final[Public] = "public"
Key = tuple[str, str]
Forbidden = Callable[[Request, Role], Response]
API_PREFIX: Final = "/api/"
ENROL_PATH: Final = "/admin/account/totp"

_VIEWS = (
    "/orders",
    "/orders/{order_id}",
    "/orders/{order_id}/key-audit",
    "/orders/{order_id}/emails",
    "/payments",
    "/payments/{item_id}",
    "/ipns",
    "/ipns/{ipn_id}",
    "/flags",
    "/flags/{flag_id}",
    "/refunds",
    "/refunds/{refund_id}",
    "/reservations",
    "/webhooks",
    "/webhooks/{item_id:int}",
    "/sagas",
    "/dead-letters",
    "/health",
    "/audit",
)
_REPAIRS = (
    "/dead-letters/{service}/{letter_id:int}/replay",
    "/webhooks/{webhook_id:int}/replay",
    "/ipns/{ipn_id}/replay",
    "/orders/{order_id}/retry",
    "/orders/{order_id}/resend-email",
    "/orders/{order_id}/link",
    "/orders/{order_id}/object-url",
    "/orders/{order_id}/notices/resend",
    "/flags/{flag_id}/accept",
    "/flags/{flag_id}/refund-due",
    "/flags/{flag_id}/dismiss",
)
_OWNERS = (
    "/refunds/{refund_id}/approve",
    "/refunds/{refund_id}/reject",
    "/refunds/{refund_id}/refunded-outside",
    "/orders/{order_id}/refund-unrevealed",
    "/orders/{order_id}/deliver-keys",
)


def _both(method: str, paths: tuple[str, ...], role: Role) -> dict[Key, Role | Public]:
    """Each path as a page (or form) and through the JSON API."""
    return {(method, prefix + path): role for path in paths for prefix in ("", "/api")}


ROUTE_ROLES: Final[Mapping[Key, Role | Public]] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/login/totp"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("POST", "/logout"): Role.VIEWER,
    ("GET", "/account/totp"): Role.VIEWER,
    ("POST", "/account/totp"): Role.VIEWER,
    ("GET", "/api/account"): Role.VIEWER,
    ("GET", "/api/account/totp"): Role.VIEWER,
    ("POST", "/api/account/totp/confirm"): Role.VIEWER,
    ("GET", "/"): Role.VIEWER,
    **_both("GET", _VIEWS, Role.VIEWER),
    **_both("POST", _REPAIRS, Role.OPERATOR),
    **_both("POST", _OWNERS, Role.OWNER),
    # The form of keys by hand: a page only an owner can use.
    ("GET", "/orders/{order_id}/deliver-keys"): Role.OWNER,
}
# What an owner without a second factor may still do: enrol one, or leave.
BEFORE_ENROLMENT: Final = frozenset(
    {
        ("POST", "/logout"),
        ("GET", "/account/totp"),
        ("POST", "/account/totp"),
        ("GET", "/api/account"),
        ("GET", "/api/account/totp"),
        ("POST", "/api/account/totp/confirm"),
    }
)


class UndecidedRoute(Exception):
    """A route the table does not name, or a row no route serves."""

    def __init__(self, keys: list[Key]) -> None:
        names = ", ".join(f"{method} {path}" for method, path in sorted(keys))
        super().__init__(f"Decide who may call these admin routes in ROUTE_ROLES: {names}")


def route_keys(routes: list[BaseRoute]) -> list[Key]:
    """(method, path) of every endpoint among `routes`, HEAD aside (it follows GET)."""
    return [
        (method, route.path)
        for route in routes
        if isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"})
    ]


def guard_routes(routes: list[BaseRoute], forbidden: Forbidden) -> list[BaseRoute]:
    """`routes`, each behind the role the table names for it; `forbidden` answers a
    caller whose role is too low. Raises `UndecidedRoute` unless the table and the
    routes name exactly the same endpoints."""
    keys = route_keys(routes)
    undecided = [key for key in keys if key not in ROUTE_ROLES]
    unserved = [key for key in ROUTE_ROLES if key not in keys]
    if undecided or unserved or any(not isinstance(r, Route) for r in routes):
        raise UndecidedRoute(undecided + unserved)
    guarded: list[BaseRoute] = []
    for route in routes:
        assert isinstance(route, Route)
        assert inspect.iscoroutinefunction(route.endpoint)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            key = (method, route.path)
            endpoint = _guarded(route.endpoint, key, ROUTE_ROLES[key], forbidden)
            guarded.append(Route(route.path, endpoint, methods=[method], name=route.name))
    return guarded


def _guarded(
    endpoint: Endpoint,
    key: Key,
    required: Role | Public,
    forbidden: Callable[[Request, Role], Response],
) -> Endpoint:
    if required == PUBLIC:
        return endpoint

    async def checked(request: Request) -> Response:
        role: Role = request.state.role
        if request.state.needs_enrolment and key not in BEFORE_ENROLMENT:
            return _to_enrolment(key)
        if not role.may(required):
            return forbidden(request, required)
        return await endpoint(request)

    return checked


def _to_enrolment(key: Key) -> Response:
    if key[1].startswith(API_PREFIX):
        detail = "An owner must enrol a second factor first: GET /admin/api/account/totp."
        return error_response(HttpError(403, "totp_enrolment_required", detail))
    return RedirectResponse(ENROL_PATH, status_code=303)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/admin" + API_PREFIX)
