"""HTTP server metrics: requests by route template, method and status, their latency,
and the requests in flight, labelled ``service=<name>`` like every runtime metric.

Routes are named by template (`bitloot_runtime.route_template`), never by path: a path
carries ids and tokens, and would make one series per order. Methods outside the
standard set count as ``other``, so a scanner's inventions cannot add series either.
Websocket connections are not counted: they last as long as the page that opened them,
and their "latency" would say nothing about the service.
"""

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bitloot_runtime.route_template import route_template

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
# A request whose app raised before answering is served 500 by Starlette's outermost
# error middleware, which sits outside this one.
UNANSWERED_STATUS = "500"


class HttpMetrics:
    """Requests answered, their duration and the requests in flight."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "bitloot_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "bitloot_http_request_duration_seconds",
            "Time from an HTTP request to the end of its response.",
            ["method", "route"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "bitloot_http_requests_in_flight", "HTTP requests being handled.", registry=registry
        )


class HttpMetricsMiddleware:
    """Counts each HTTP request once it is answered (or has failed)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
        status = UNANSWERED_STATUS

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        started = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_counted)
        finally:
            self.metrics.in_flight.dec()
            route = route_template(scope)
            self.metrics.duration.labels(method=method, route=route).observe(
                time.perf_counter() - started
            )
            self.metrics.requests.labels(method=method, route=route, status=status).inc()
