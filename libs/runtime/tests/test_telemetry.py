"""Traces are off unless OTEL_EXPORTER_OTLP_ENDPOINT is set: nothing is installed, no span
is made, and events still carry a child of the trace being handled; on, an event emitted
in a span carries that span's context, and a consumer's span continues its message's."""

import json
import subprocess
import sys
import textwrap

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from bitloot_runtime import telemetry
from bitloot_runtime.propagation import current_traceparent
from bitloot_runtime.tracing import parse_traceparent

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
