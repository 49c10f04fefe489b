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
no query string, no email address, client address or user agent, key, token or object
key in an attribute. The server span is scrubbed from its start (the request hook) and
again when the app is done, however it ended; an httpx span names its peer's origin and
the caller's operation (`bitloot_runtime.outbound.operation`); an exception is recorded
on our spans by its type only, never its message or stack. The order id is kept, as
``bitloot.order_id``: on-call finds an order's trace by it (docs/operations.md).
"""

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bitloot_runtime.outbound import OPERATION
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
# ... and who asked: the access log keeps the client's address, a trace has no use for it.
_CLIENT_ATTRIBUTES = (
    "net.peer.ip",
    "net.peer.port",
    "net.sock.peer.addr",
    "net.sock.peer.port",
    "client.address",
    "client.port",
    "network.peer.address",
    "network.peer.port",
    "http.client_ip",
    "http.user_agent",
    "user_agent.original",
)
# Attributes of an httpx client span naming the URL, replaced by its origin; and naming
# its path or query, emptied.
_CLIENT_URL_ATTRIBUTES = ("http.url", "url.full")
_CLIENT_PATH_ATTRIBUTES = ("http.target", "url.path", "url.query")
# Where `_NameByRoute` leaves, in the request's scope, what the app raised.
_ESCAPED = "bitloot.escaped_exceptions"

_state: dict[str, TracerProvider] = {}

# What a per-message or per-attempt span is when tracing is off: one shared context
# manager that does nothing, so that the off path builds no attributes and enters no
# generator (callers choose it with `enabled()` before building anything).
NO_SPAN: AbstractContextManager[None] = nullcontext()


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
    HTTPXClientInstrumentor().instrument(
        tracer_provider=provider,
        request_hook=_client_request,
        async_request_hook=_async_client_request,
    )
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _state["provider"] = provider
    return True


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
    with (
        _tracer().start_as_current_span(
            name,
            context=parent,
            kind=kind,
            attributes=dict(attributes or {}),
            links=links,
            record_exception=False,
            set_status_on_exception=False,
        ) as span,
        _typed_exceptions(span),
    ):
        yield span


@contextmanager
def child_span(name: str, attributes: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run the block in a CLIENT span `name`, child of the active one (S3, SMTP): nothing
    when tracing is off or no span is active."""
    if not _state or not trace.get_current_span().get_span_context().is_valid:
        yield
        return
    with (
        _tracer().start_as_current_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=dict(attributes or {}),
            record_exception=False,
            set_status_on_exception=False,
        ) as span,
        _typed_exceptions(span),
    ):
        yield


@contextmanager
def _typed_exceptions(span: trace.Span) -> Iterator[None]:
    """An exception leaving the block is recorded on `span` by its type only: its message
    and stack can quote an address, a path or a value (`record_exception` would keep
    them)."""
    try:
        yield
    except BaseException as exc:
        _record_type(span, exc)
        raise


def _record_type(span: trace.Span, exc: BaseException) -> None:
    kind = type(exc).__qualname__
    span.add_event("exception", {"exception.type": kind})
    if isinstance(exc, Exception):
        span.set_status(StatusCode.ERROR, kind)


def with_traceparent(headers: Mapping[str, Any]) -> dict[str, Any]:
    """`headers` with their ``traceparent`` replaced by the current span's context."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return {**headers, **carrier}


def http_middleware(app: ASGIApp) -> ASGIApp:
    """`app` in the HTTP server's span (a child of the request's ``traceparent``), named
    by route template: the instrumentation's middleware, whose request hook scrubs the
    path, query and client from the span as it starts, around `_NameByRoute`, which names
    the span once the router has chosen and hands out past the span whatever the app
    raised (`_Rethrow` raises it again outside)."""
    return _Rethrow(
        OpenTelemetryMiddleware(
            _NameByRoute(app),
            excluded_urls=_EXCLUDED_URLS,
            default_span_details=_method_only,
            server_request_hook=_scrub_at_start,
            tracer_provider=_state.get("provider"),
            exclude_spans=["receive", "send"],
        )
    )


def _method_only(scope: Scope) -> tuple[str, dict[str, str]]:
    return str(scope.get("method") or "HTTP"), {}


def _scrub_at_start(span: trace.Span, scope: Scope) -> None:
    """The instrumentation has just put the path, query, client address and user agent
    on the span: replaced before anything else happens (no template yet: `UNMATCHED`)."""
    if span.is_recording():
        _scrub(span, route_template(scope))


class _Rethrow:
    """Raises, outside the instrumentation's span, what the app raised inside it: the
    instrumentation would record on the span the exception's message and stack, which
    can quote the path, a query or a token. `_NameByRoute` records only its type."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        escaped: list[BaseException] = []
        if scope["type"] == "http":
            scope[_ESCAPED] = escaped
        await self._app(scope, receive, send)
        if escaped:
            raise escaped[0]


class _NameByRoute:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        escaped = scope.get(_ESCAPED)
        if scope["type"] != "http" or not span.is_recording() or escaped is None:
            await self._app(scope, receive, send)
            return

        # The span ends with the response's last body part: named as the response starts
        # (the router has chosen by then; an error's response too).
        async def naming_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                _name(span, scope)
            await send(message)

        try:
            await self._app(scope, receive, naming_send)
        except BaseException as exc:  # re-raised by `_Rethrow`, past the span
            _record_type(span, exc)
            escaped.append(exc)
        finally:
            # Also when no response began (an exception Starlette answers outside, a
            # cancellation): the span ends with the template, never the path.
            _name(span, scope)


def _name(span: trace.Span, scope: Scope) -> None:
    template = route_template(scope)
    span.update_name(f"{scope.get('method', 'HTTP')} {template}")
    span.set_attribute("http.route", template)
    _scrub(span, template)


def _scrub(span: trace.Span, template: str) -> None:
    _overwrite_present(span, _PATH_ATTRIBUTES, template)
    _overwrite_present(span, _QUERY_ATTRIBUTES, "")
    _overwrite_present(span, _CLIENT_ATTRIBUTES, "")


def _overwrite_present(span: trace.Span, keys: Sequence[str], value: str) -> None:
    """Set those of `keys` the span holds to `value` (the SDK's span tells which it
    holds; another span gets them all)."""
    held = getattr(span, "attributes", None)
    for key in keys:
        if held is None or key in held:
            span.set_attribute(key, value)


def _client_request(span: trace.Span, request: RequestInfo) -> None:
    """An httpx client span names its peer (``scheme://host[:port]``) and the operation
    the caller named (`bitloot_runtime.outbound.operation`), never the path or query:
    they carry order, payment and invoice ids, and the admin's searches an email."""
    if not span.is_recording():
        return
    method = request.method.decode() if isinstance(request.method, bytes) else request.method
    url = request.url if isinstance(request.url, httpx.URL) else None
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}" if url is not None else ""
    name = (request.extensions or {}).get(OPERATION)
    _overwrite_present(span, _CLIENT_URL_ATTRIBUTES, origin)
    _overwrite_present(span, _CLIENT_PATH_ATTRIBUTES, "")
    if isinstance(name, str):
        span.set_attribute(OPERATION, name)
        span.update_name(f"{method} {name}")
    else:
        span.update_name(method)


async def _async_client_request(span: trace.Span, request: RequestInfo) -> None:
    _client_request(span, request)
