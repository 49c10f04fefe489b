"""One access-log line per HTTP request: what was asked, how it ended, how long it took.

Logged on ``bitloot.access`` as ``request`` with `method`, `route` (the matched template,
never the path: a path or query can carry a reveal or claim token), `status`,
`duration_ms`, `client` (as resolved through the trusted proxies) and, where the route
names one, `order_id`; `trace_id`: the request's span's when tracing is on (this
middleware runs inside the span, see `bitloot_runtime.app.create_app`), else the one of
the request's ``traceparent`` if it carries a valid one. No
query string, header or body is ever read into the line. Probes and scrapes (/healthz,
/readyz, /metrics) are logged at DEBUG, so they do not drown the requests at INFO.
"""

import logging
import time
from uuid import UUID

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bitloot_runtime.route_template import route_template
from bitloot_runtime.telemetry import current_trace_id

logger = logging.getLogger("bitloot.access")

PROBE_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware:
    """Logs each HTTP request once it has ended, however it ended: with the status the
    app sent (499 for a client that hung up mid-body, see `bitloot_runtime.http`), or 500
    for an exception, or a cancellation, before any response began."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watch_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch_send)
        finally:
            _log(scope, status, time.perf_counter() - started)


def _log(scope: Scope, status: int, seconds: float) -> None:
    route = route_template(scope)
    level = logging.DEBUG if route in PROBE_ROUTES else logging.INFO
    if not logger.isEnabledFor(level):
        return
    client = scope.get("client")
    fields: dict[str, object] = {
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "client": client[0] if client else None,
    }
    order_id = _order_id(scope.get("path_params", {}).get("order_id"))
    if order_id is not None:
        fields["order_id"] = order_id
    trace_id = current_trace_id(Headers(scope=scope).get("traceparent"))
    if trace_id is not None:
        fields["trace_id"] = trace_id
    logger.log(level, "request", extra=fields)


def _order_id(value: object) -> str | None:
    """The path's order id when it is one (a UUID): whatever else a client put in that
    segment is theirs, and not written down."""
    if isinstance(value, UUID):
        return str(value)
    try:
        return str(UUID(str(value))) if value is not None else None
    except ValueError:
        return None
