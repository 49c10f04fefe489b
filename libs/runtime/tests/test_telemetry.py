"""Traces are off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: nothing is installed, no span
is made, and events still carry a child of the trace being handled; on, an event emitted
in a span carries that span's context, and a consumer's span continues its message's."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from bitloot_contracts.events import Event
from bitloot_runtime import consumer, telemetry
from bitloot_runtime.consumer import Route
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.delivery import Delivery
from bitloot_runtime.propagation import current_traceparent
from bitloot_runtime.route_template import UNMATCHED
from bitloot_runtime.tracing import parse_traceparent
from bitloot_testing.asgi import asgi_client

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_without_an_endpoint_nothing_is_configured_and_no_span_is_made() -> None:
    assert telemetry.configure_tracing("payments", {"OTEL_SERVICE_NAME": "x"}) is False
    assert telemetry.configure_tracing("payments", {"OTEL_EXPORTER_OTLP_ENDPOINT": " "}) is False
    assert not telemetry.enabled()
    # The global provider is still the API's no-op proxy: no SDK, no exporter, no thread.
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    with telemetry.continued(PARENT, "x.process") as span:
        assert span is None
        assert not trace.get_current_span().get_span_context().is_valid
    with telemetry.child_span("s3 PutObject"):
        assert not trace.get_current_span().get_span_context().is_valid
    assert telemetry.active_traceparent() is None


def test_without_an_endpoint_events_carry_a_child_of_the_trace_being_handled() -> None:
    token = current_traceparent.set(PARENT)
    try:
        emitted = parse_traceparent(telemetry.outgoing_traceparent())
        assert telemetry.current_trace_id(PARENT) == "0af7651916cd43dd8448eb211c80319c"
    finally:
        current_traceparent.reset(token)
    assert emitted is not None
    assert emitted.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert emitted.parent_id != "b7ad6b7169203331"
    fresh = parse_traceparent(telemetry.outgoing_traceparent())
    assert fresh is not None
    assert fresh.trace_id != emitted.trace_id


def test_with_an_endpoint_a_span_continues_the_message_and_events_carry_it() -> None:
    # A process of its own: the global TracerProvider can be installed once per process.
    script = textwrap.dedent(
        f"""
        import json, os
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from bitloot_runtime import telemetry

        on = telemetry.configure_tracing(
            "fulfillment", {{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}}
        )
        provider = trace.get_tracer_provider()
        memory = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        with telemetry.continued({PARENT!r}, "payment.finished process") as span:
            emitted = telemetry.outgoing_traceparent()
            with telemetry.child_span("smtp send"):
                pass
        with telemetry.child_span("orphan"):
            pass
        spans = {{s.name: s for s in memory.get_finished_spans()}}
        print(json.dumps({{
            "on": on,
            "sdk": isinstance(provider, TracerProvider),
            "service": provider.resource.attributes["service.name"],
            "emitted": emitted,
            "names": sorted(spans),
            "process": [
                format(spans["payment.finished process"].context.trace_id, "032x"),
                format(spans["payment.finished process"].context.span_id, "016x"),
                format(spans["payment.finished process"].parent.span_id, "016x"),
            ],
            "smtp_parent": format(spans["smtp send"].parent.span_id, "016x"),
        }}))
        os._exit(0)  # nothing to flush to the (absent) collector
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["on"] is True
    assert found["sdk"] is True
    assert found["service"] == "fulfillment"
    trace_id, span_id, parent_id = found["process"]
    assert (trace_id, parent_id) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert found["emitted"] == f"00-{trace_id}-{span_id}-01"
    assert found["smtp_parent"] == span_id
    # A child span needs a span to be the child of: none outside one.
    assert found["names"] == ["payment.finished process", "smtp send"]


# What a reviewer exported: a server span keeping the path of a request whose handler
# raised, or that was cancelled, and client spans keeping URLs with emails and ids.

TRACED_CHILD = Path(__file__).parent / "traced_child.py"
SECRETS = (
    "SECRETTOKEN123",
    "SECRETTOKEN456",
    "SECRETTOKEN789",
    "alice@example.com",
    "alice%40example.com",
    "5077125051",
    "SecretAgent",
    "203.0.113.9",
    "/v1/payment",
    "/internal/orders",
)


@pytest.fixture(scope="module")
def traced() -> dict[str, Any]:
    """The spans and access-log lines of `traced_child` (its own process: the global
    TracerProvider and the httpx instrumentation are installed once per process)."""
    result = subprocess.run(
        [sys.executable, str(TRACED_CHILD)], capture_output=True, text=True, timeout=60, check=True
    )
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def spans_named(traced: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [span for span in traced["spans"] if span["name"] == name]


def test_no_span_holds_a_path_query_email_id_client_address_or_user_agent(
    traced: dict[str, Any],
) -> None:
    assert sorted({span["name"] for span in traced["spans"]}) == [
        "GET",
        "GET /keys/{token}",
        "GET /keys/{token}/fresh",
        "GET /orders/{order_id}/wait",
        "GET search",
        "email attempt",
        "payment.finished process",
        "smtp send",
    ]
    exported = json.dumps(traced["spans"])
    assert [secret for secret in SECRETS if secret in exported] == []
    for span in traced["spans"]:
        if span["kind"] == "SERVER":
            attributes = span["attributes"]
            assert attributes["http.target"] == attributes["http.route"]
            assert attributes["http.target"] == span["name"].removeprefix("GET ")
            assert attributes["net.peer.ip"] == ""
            assert attributes["http.user_agent"] == ""


def test_a_handler_that_raises_leaves_the_template_and_the_exception_type_only(
    traced: dict[str, Any],
) -> None:
    assert traced["raised"] == "RuntimeError"  # the server still sees the exception
    for span in spans_named(traced, "GET /keys/{token}/fresh"):
        assert span["attributes"]["http.target"] == "/keys/{token}/fresh"
        assert span["events"] == [
            {"name": "exception", "attributes": {"exception.type": "RuntimeError"}}
        ]
        assert span["status"] == ["ERROR", "RuntimeError"]


def test_our_own_spans_record_an_exception_by_its_type_only(traced: dict[str, Any]) -> None:
    for name in ("email attempt", "smtp send"):
        [span] = spans_named(traced, name)
        assert span["events"] == [
            {"name": "exception", "attributes": {"exception.type": "ValueError"}}
        ]
        assert span["status"] == ["ERROR", "ValueError"]


def test_a_request_cancelled_before_its_response_leaves_the_template(
    traced: dict[str, Any],
) -> None:
    [span] = spans_named(traced, "GET /orders/{order_id}/wait")
    assert span["attributes"]["http.target"] == "/orders/{order_id}/wait"
    assert span["events"] == [
        {"name": "exception", "attributes": {"exception.type": "CancelledError"}}
    ]


def test_an_httpx_call_names_its_peer_and_operation_never_its_path(
    traced: dict[str, Any],
) -> None:
    origin = f"http://127.0.0.1:{traced['port']}"
    [named] = spans_named(traced, "GET search")
    [unnamed] = spans_named(traced, "GET")
    assert named["attributes"]["bitloot.operation"] == "search"
    assert "bitloot.operation" not in unnamed["attributes"]
    for span in (named, unnamed):
        assert span["kind"] == "CLIENT"
        assert span["attributes"]["http.url"] == origin


def test_the_access_log_carries_the_request_spans_trace_id(traced: dict[str, Any]) -> None:
    servers = [span for span in traced["spans"] if span["kind"] == "SERVER"]
    logged = [entry.get("trace_id") for entry in traced["access"]]
    # The first continues the caller's traceparent, the others start their own trace.
    assert logged == [span["trace_id"] for span in servers]
    assert logged[0] == PARENT.split("-")[1]
    assert None not in logged


def test_off_the_message_and_attempt_paths_build_nothing() -> None:
    assert not telemetry.enabled()
    delivery = Delivery.from_amqp(
        queue="q",
        routing_key="payment.finished",
        body=b"{}",
        message_id="m-1",
        correlation_id=None,
        headers={"traceparent": PARENT},
    )
    route = Route("payment.finished", Event, handle)
    assert consumer._span(route, delivery, PARENT) is telemetry.NO_SPAN


async def handle(_event: Event, _uow: UnitOfWork) -> None:
    raise AssertionError("not called")


async def test_the_server_span_holds_no_path_client_or_agent_from_its_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the span holds while the app runs, before any template is known: what an
    # export would carry if the request never got to its end.
    monkeypatch.setitem(telemetry._state, "provider", TracerProvider())
    seen: dict[str, object] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.update(getattr(trace.get_current_span(), "attributes", None) or {})
        await PlainTextResponse("ok")(scope, receive, send)

    async with asgi_client(telemetry.http_middleware(app), client=("203.0.113.9", 50000)) as http:
        await http.get("/keys/SECRETTOKEN123?token=SECRETTOKEN456", headers={"User-Agent": "A/1"})
    assert seen["http.target"] == seen["http.url"] == UNMATCHED
    assert (seen["net.peer.ip"], seen["http.user_agent"]) == ("", "")
    assert "SECRETTOKEN" not in json.dumps(seen)
