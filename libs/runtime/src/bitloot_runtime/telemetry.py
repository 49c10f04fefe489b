"""Traces (OpenTelemetry), exported by OTLP over HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT``
is set, and off otherwise.

Off (the default) nothing is installed: no TracerProvider, no instrumentation, no
middleware, and the message path creates no span at all, not even a non-recording one;
events still carry a ``traceparent`` (`outgoing_traceparent`) and logs a ``trace_id``.

On, `configure_tracing` (called by the process entry, `bitloot_runtime.app.run`) installs
a TracerProvider naming the service (``OTEL_SERVICE_NAME`` or the service's own name) with
a batching OTLP/HTTP exporter (the standard ``OTEL_EXPORTER_OTLP_*`` variables apply), and
instruments the HTTP clients (httpx: NOWPayments, Kinguin, the admin's calls) and the
database driver (asyncpg); `create_app` adds the HTTP server's middleware. The bus keeps
the trace itself: a consumer continues the ``traceparent`` of the message it handles in
a CONSUMER span, the events it emits carry that span's context, and the outbox relay
publishes each in a PRODUCER span of the same trace. A database call or an HTTP call that
belongs to no request or message (a poll, a relay pass) starts no trace.

Spans name what was done, never whom it was for: no path (routes are named by template),
no query string, no email address, key, token or object key in an attribute.
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bitloot_runtime.propagation import current_traceparent
from bitloot_runtime.route_template import route_template
from bitloot_runtime.tracing import child_traceparent, trace_id_of

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
_PROPAGATOR = TraceContextTextMapPropagator()
# Requests that are not the business's: probes and scrapes would drown the traces.
_EXCLUDED_URLS = "/healthz,/readyz,/metrics"
# Attributes of the HTTP server span that carry the request's path (with its ids, and on
# some routes a token) or its query: replaced by the route template once it is known.
_PATH_ATTRIBUTES = ("http.target", "url.path", "http.url", "url.full")
_QUERY_ATTRIBUTES = ("url.query",)

_state: dict[str, TracerProvider] = {}


def enabled() -> bool:
    """Whether this process records and exports spans."""
    return bool(_state)


def configure_tracing(service: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Install tracing for `service` if ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set in
    `environ`; whether it is on. Once per process: later calls change nothing."""
    if _state:
        return True
    if not environ.get(ENDPOINT_VARIABLE, "").strip():
        return False
    name = environ.get("OTEL_SERVICE_NAME", "").strip() or service
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: name}), sampler=ParentBased(_NoOrphanClients())
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _state["provider"] = provider
    return True


def shutdown_tracing() -> None:
    """Export what is buffered and stop (the SDK also does it at exit)."""
    provider = _state.pop("provider", None)
    if provider is not None:
        HTTPXClientInstrumentor().uninstrument()
        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        provider.shutdown()


class _NoOrphanClients(Sampler):
    """Root spans are sampled except a client's (a database or HTTP call made outside any
    request or message): those are the relay's and the pollers' routine, not a trace."""

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "NoOrphanClients"


def _tracer() -> trace.Tracer:
    return trace.get_tracer("bitloot_runtime")


def outgoing_traceparent() -> str:
    """The ``traceparent`` an event emitted now carries: the current span's context when
    tracing is on and a span is active (the next service's span becomes its child), else
    a child of the trace being handled (`current_traceparent`), else a new trace."""
    return active_traceparent() or child_traceparent(current_traceparent.get())


def active_traceparent() -> str | None:
    """The current span's ``traceparent`` when tracing is on and a span is active, else
    None: what a row read later, outside this context, keeps to go on in this trace."""
    if _state and trace.get_current_span().get_span_context().is_valid:
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        return carrier.get("traceparent")
    return None


def current_trace_id(traceparent: str | None) -> str | None:
    """The trace id logs carry: the current span's when tracing is on, else `traceparent`'s."""
    if _state:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            return format(span_context.trace_id, "032x")
    return trace_id_of(traceparent)


@contextmanager
def continued(
    traceparent: str | None,
    name: str,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str] | None = None,
    link_current: bool = False,
) -> Iterator[trace.Span | None]:
    """Run the block in a span `name`, child of `traceparent` (a new trace if it is missing
    or invalid); with `link_current`, linked to the span active now (the request that
    brought the news). Nothing at all (and None for the span) when tracing is off."""
    if not _state:
        yield None
        return
    parent = _PROPAGATOR.extract({"traceparent": traceparent} if traceparent else {})
    links = []
    if link_current:
        active = trace.get_current_span().get_span_context()
        if active.is_valid:
            links.append(Link(active))
    with _tracer().start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes or {}), links=links
    ) as span:
        yield span


@contextmanager
def child_span(name: str, attributes: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run the block in a CLIENT span `name`, child of the active one (S3, SMTP): nothing
    when tracing is off or no span is active."""
    if not _state or not trace.get_current_span().get_span_context().is_valid:
        yield
        return
    with _tracer().start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes=dict(attributes or {})
    ):
        yield


def with_traceparent(headers: Mapping[str, Any]) -> dict[str, Any]:
    """`headers` with their ``traceparent`` replaced by the current span's context."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return {**headers, **carrier}


def http_middleware(app: ASGIApp) -> ASGIApp:
    """`app` in the HTTP server's span (a child of the request's ``traceparent``), named
    by route template: the instrumentation's middleware around a middleware that, once the
    router has chosen, names the span and scrubs the path and query from it."""
    return OpenTelemetryMiddleware(
        _NameByRoute(app),
        excluded_urls=_EXCLUDED_URLS,
        default_span_details=_method_only,
        tracer_provider=_state.get("provider"),
        exclude_spans=["receive", "send"],
    )


def _method_only(scope: Scope) -> tuple[str, dict[str, str]]:
    return str(scope.get("method") or "HTTP"), {}


class _NameByRoute:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        if scope["type"] != "http" or not span.is_recording():
            await self._app(scope, receive, send)
            return

        # The span ends with the response's last body part: named as the response starts
        # (the router has chosen by then; an error's response too).
        async def naming_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                template = route_template(scope)
                span.update_name(f"{scope.get('method', 'HTTP')} {template}")
                span.set_attribute("http.route", template)
                _scrub(span, template)
            await send(message)

        await self._app(scope, receive, naming_send)


def _scrub(span: trace.Span, template: str) -> None:
    for key in _PATH_ATTRIBUTES:
        span.set_attribute(key, template)
    for key in _QUERY_ATTRIBUTES:
        span.set_attribute(key, "")
