"""The route template a request matched (``/orders/{order_id}``), for labels and logs.

Metrics and access logs name routes by template, not by path: a path carries ids, so as a
label it would make one series per order, and in a log it can carry a token.
"""

from starlette.routing import BaseRoute, Mount
from starlette.types import Scope

# What requests that matched no route are counted and logged as: one bounded value for
# every scanner's guess.
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The matched route's path template, prefixed by the mounts it was reached through,
    or `UNMATCHED`. Read it after the app has handled the request: Starlette's router
    records the route it chose in the scope as it dispatches."""
    route = scope.get("route")
    # Still the Mount after handling: nothing inside it matched.
    if isinstance(route, Mount):
        return UNMATCHED
    path = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    if not isinstance(path, str):
        return UNMATCHED
    # A Mount adds its prefix to root_path before its own router matches the inner route.
    return f"{scope.get('root_path', '')}{path}" or "/"
