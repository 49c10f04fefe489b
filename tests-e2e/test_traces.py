"""One order's trace across the five service processes (issue #22): each exports its
spans by OTLP over HTTP to a receiver run here, as to a collector; the IPN that pays the
order starts the trace in payments, and the bus carries it through fulfillment, the
Kinguin gateway (Kinguin's webhook included, which brings no trace of ours) and delivery,
whose SMTP conversation runs later in its sender loop; the Kinguin HTTP call, the S3 write
and the SMTP send are child spans in it. An admin who opens the order with that trace's
context joins it, and so do the calls the admin makes to the other services. No span says
the customer's address, the key or a token."""

import gzip
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest
from five_processes import Servers, wait_for
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from shop import Shop, reveal

from bitloot_testing.leaks import JWT

PRODUCT_ID = "5c9b5f6b2539a4e8f172916a"
EMAIL = "traced.buyer@example.com"
IPN_ROUTE = "/payments/ipn"
ORDER_SERVICES = {"payments", "fulfillment", "kinguin-gateway", "delivery"}


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, str]


@dataclass
class Receiver:
    """What an OTLP/HTTP collector would have received: every span, decoded."""

    spans: list[Span] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        received = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        Span(
                            service=resource.get("service.name", ""),
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            attributes=_attributes(span.attributes),
                        )
                    )
        with self.lock:
            self.spans.extend(received)

    def snapshot(self) -> list[Span]:
        with self.lock:
            return list(self.spans)


def _attributes(pairs: object) -> dict[str, str]:
    found = {}
    for pair in pairs:  # type: ignore[attr-defined]
        value: AnyValue = pair.value
        kind = value.WhichOneof("value")
        found[pair.key] = str(getattr(value, kind)) if kind else ""
    return found


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[str, Receiver]]:
    """An OTLP/HTTP trace receiver on a free port: its base URL and what it received."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                receiver.take(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", receiver
    finally:
        server.shutdown()
        server.server_close()


def _all(spans: list[Span], **match: object) -> list[Span]:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert found, match
    return found


def _only(spans: list[Span], **match: object) -> Span:
    [found] = _all(spans, **match)
    return found


@pytest.mark.slow
async def test_one_order_is_one_trace_across_the_five_processes(
    servers: Servers, otlp_receiver: tuple[str, Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, receiver = otlp_receiver
    # Every process inherits these; the sandboxes install no tracing.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    async with servers.start() as running, httpx.AsyncClient(timeout=10) as http:
        shop = Shop(running, http, servers.smtp_inbox)
        await shop.seed({"hades": (PRODUCT_ID, "24.99", "20.00")})
        order_id, order_token = await shop.checkout(EMAIL)
        await shop.fulfilled(order_id, "order.fulfilled")
        [mail] = [m for m in servers.smtp_inbox.messages if EMAIL in m.recipients]
        await reveal(http, mail)
        [bought] = await shop.kinguin_ledger(order_id)
        key = str(bought["keys"][0]["serial"])

        def of_order() -> list[Span]:
            return [
                s for s in receiver.snapshot() if s.attributes.get("bitloot.order_id") == order_id
            ]

        async def delivered_in_a_trace() -> bool:
            names = {s.name for s in of_order()}
            return {"delivery.completed process", "order.fulfilled publish"} <= names

        await wait_for(delivered_in_a_trace, "the order's spans")
        # Each IPN is a trace of its own (the earlier ones change only the payment's
        # status); the one that finished the payment starts the order's, and everything
        # the other services did for the order is in it.
        trace_id = _only(of_order(), name="payment.finished publish").trace_id
        elsewhere = {
            s.trace_id
            for s in of_order()
            if s.service != "payments" and not s.name.startswith("payment.status_changed")
        }
        assert elsewhere == {trace_id}

        # The admin opens the order within that trace: its request and the calls it makes
        # to the other services join it.
        headers = {
            **(await shop.admin_session()),
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        }
        detail = await http.get(
            f"{running.url['admin']}/admin/api/orders/{order_id}", headers=headers
        )
        assert detail.status_code == 200, detail.text

        def in_trace() -> list[Span]:
            return [s for s in receiver.snapshot() if s.trace_id == trace_id]

        async def admin_joined() -> bool:
            return any(
                s.service == "admin" and s.kind == ProtoSpan.SPAN_KIND_SERVER for s in in_trace()
            )

        await wait_for(admin_joined, "the admin's span")

        async def everything_exported() -> bool:
            return {"smtp send", "s3 PutObject"} <= {s.name for s in in_trace()}

        await wait_for(everything_exported, "the S3 and SMTP spans")
    # The processes have stopped: what they buffered has been exported.
    spans = in_trace()
    by_id = {s.span_id: s for s in spans}
    services = {s.service for s in spans}
    assert {*ORDER_SERVICES, "admin"} <= services, services

    def parent(span: Span) -> Span:
        assert span.parent_id in by_id, (span.name, "has no parent in the trace")
        return by_id[span.parent_id]

    # The IPN request in payments is the root: every span descends from it. The IPN
    # processor applies it later, in its loop, in the same trace.
    [root] = [s for s in spans if s.parent_id not in by_id and s.service != "admin"]
    assert (root.service, root.kind) == ("payments", ProtoSpan.SPAN_KIND_SERVER), root
    assert root.name == f"POST {IPN_ROUTE}", root
    assert root.attributes["http.route"] == IPN_ROUTE
    applied_ipn = parent(_only(spans, name="payment.finished publish"))
    assert (applied_ipn.name, parent(applied_ipn)) == ("ipn apply", root)
    # The bus: each consumer span is the child of the producer span that published it.
    for topic, producer, consumer in (
        ("payment.finished", "payments", "fulfillment"),
        ("reservation.requested", "fulfillment", "kinguin-gateway"),
        ("kinguin.webhook", "kinguin-gateway", "fulfillment"),
        ("keys.requested", "fulfillment", "kinguin-gateway"),
        ("keys.delivered", "kinguin-gateway", "delivery"),
        ("delivery.completed", "delivery", "fulfillment"),
    ):
        for handled in _all(spans, name=f"{topic} process", service=consumer):
            assert handled.kind == ProtoSpan.SPAN_KIND_CONSUMER
            published = parent(handled)
            assert (published.name, published.service) == (f"{topic} publish", producer)
            assert published.kind == ProtoSpan.SPAN_KIND_PRODUCER
    # Kinguin's webhook, a request with no trace of ours, goes on in the order's trace.
    for applied in _all(spans, name="kinguin order.status apply"):
        assert parent(applied).name == "reservation.requested process"
    # The Kinguin HTTP calls are children of the gateway's consumer spans.
    kinguin_port = running.url["kinguin-sandbox"].rsplit(":", 1)[1]
    kinguin_calls = [
        s
        for s in spans
        if s.service == "kinguin-gateway"
        and s.kind == ProtoSpan.SPAN_KIND_CLIENT
        and s.attributes.get("url.full", s.attributes.get("http.url", "")).endswith(
            f":{kinguin_port}"
        )
    ]
    assert {parent(s).name for s in kinguin_calls} >= {
        "reservation.requested process",
        "keys.requested process",
    }, [(s.name, parent(s).name) for s in kinguin_calls]
    # S3: the sealed keys written while keys.delivered is handled.
    put = _only(spans, name="s3 PutObject")
    assert (put.service, parent(put).name) == ("delivery", "keys.delivered process")
    # SMTP: sent by the sender loop, in the order's trace all the same.
    sent = _only(spans, name="smtp send")
    attempt = parent(sent)
    assert (sent.service, attempt.name) == ("delivery", "email attempt")
    assert parent(attempt).name == "keys.delivered process"
    assert parent(_only(spans, name="delivery.completed publish")) == attempt
    # The admin's calls to the other services are children of its client spans.
    admin_request = _only(spans, service="admin", kind=ProtoSpan.SPAN_KIND_SERVER)
    route = admin_request.attributes.get("http.route", "")
    assert route.startswith("/admin/api/orders/{"), route
    called = [s for s in spans if s.kind == ProtoSpan.SPAN_KIND_SERVER and s.parent_id in by_id]
    assert any(parent(s).service == "admin" and s.service in ORDER_SERVICES for s in called), [
        (s.service, s.name) for s in called
    ]
    # Nothing about whom or what: no address, key, token or path with an id in any span.
    for span in receiver.snapshot():
        text = f"{span.name} {span.attributes}"
        assert EMAIL not in text.lower(), span
        assert key not in text, span
        assert order_token not in text, span
        assert JWT.search(text.encode()) is None, span
        for name in ("http.target", "url.path", "http.url", "url.full"):
            if span.kind == ProtoSpan.SPAN_KIND_SERVER:
                assert order_id not in span.attributes.get(name, ""), span
            if span.kind == ProtoSpan.SPAN_KIND_CLIENT and name in span.attributes:
                # An HTTP call names its peer's origin only: no path, no query.
                assert urlsplit(span.attributes[name])[2:] == ("", "", ""), span
