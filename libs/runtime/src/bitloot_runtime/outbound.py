"""Metrics of the calls a service makes to a provider (NOWPayments, Kinguin), at the
httpx transport: every request of the client is counted, whichever adapter sends it.

The caller names the operation of each request (``create_invoice``, ``get_keys``) in the
request's extensions, ``extensions=operation("get_keys")``: a bounded name, never the
path, which carries ids. A request that names none counts as ``other``.

- ``bitloot_outbound_requests_total`` (peer, operation, outcome): outcome is ``ok``
  (2xx/3xx), ``client_error`` (4xx), ``server_error`` (5xx), ``timeout`` or
  ``network_error`` (no answer);
- ``bitloot_outbound_request_duration_seconds`` (peer, operation): time until the
  answer's headers (the bodies are small JSON documents), or until the call failed.
Retries are separate requests, each counted.
"""

import time

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram

OPERATION = "bitloot.operation"
OTHER_OPERATION = "other"


def operation(name: str) -> dict[str, str]:
    """The request extensions naming the call `name` in the metrics."""
    return {OPERATION: name}


class OutboundMetrics:
    """Calls to providers by peer, operation and outcome, and their duration."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "bitloot_outbound_requests",
            "Requests to a provider, by peer, operation and outcome.",
            ["peer", "operation", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "bitloot_outbound_request_duration_seconds",
            "Time until a provider answered a request (or the request failed).",
            ["peer", "operation"],
            registry=registry,
        )


def outcome_of(status: int) -> str:
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "ok"


class MeteredTransport(httpx.AsyncBaseTransport):
    """An httpx transport counting each request `inner` sends to `peer`."""

    def __init__(
        self,
        peer: str,
        metrics: OutboundMetrics,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._peer = peer
        self._metrics = metrics
        self._inner = inner if inner is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = request.extensions.get(OPERATION)
        name = name if isinstance(name, str) else OTHER_OPERATION
        started = time.perf_counter()
        outcome = "network_error"
        try:
            response = await self._inner.handle_async_request(request)
            outcome = outcome_of(response.status_code)
            return response
        except httpx.TimeoutException:
            outcome = "timeout"
            raise
        finally:
            labels = {"peer": self._peer, "operation": name}
            self._metrics.duration.labels(**labels).observe(time.perf_counter() - started)
            self._metrics.requests.labels(**labels, outcome=outcome).inc()

    async def aclose(self) -> None:
        await self._inner.aclose()
