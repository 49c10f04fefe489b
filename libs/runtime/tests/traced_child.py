"""A widgets app with tracing on (as `bitloot_runtime.app.run` turns it on, but with an
in-memory exporter), asked what a reviewer asked: requests whose path, query, client and
user agent carry secrets (one answered, one whose handler raises with the token in its
message, one cancelled before any response), httpx calls whose URL carries an email
and a payment id, and spans of ours left by an exception naming an email address.
Prints the finished spans and the access-log lines as one JSON line.

    python traced_child.py
"""

import asyncio
import contextlib
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import MetaData
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bitloot_runtime import telemetry
from bitloot_runtime.app import create_app
from bitloot_runtime.logging import configure_logging
from bitloot_runtime.outbound import operation
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import ServiceSettings, load_settings
from bitloot_testing.asgi import asgi_client

TOKEN = "SECRETTOKEN123"
FAILING_TOKEN = "SECRETTOKEN456"
CANCELLED_TOKEN = "SECRETTOKEN789"
EMAIL = "alice@example.com"
PAYMENT_ID = "5077125051"
AGENT = "SecretAgent/7.7"
PEER = "203.0.113.9"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

handler_waiting = asyncio.Event()


async def key(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def fresh(request: Request) -> PlainTextResponse:
    raise RuntimeError(f"no fresh key for {request.path_params['token']} ({request.url})")


async def wait(_request: Request) -> PlainTextResponse:
    handler_waiting.set()
    await asyncio.Event().wait()
    return PlainTextResponse("never")


def build() -> Starlette:
    settings = load_settings(
        ServiceSettings,
        database_url="postgresql+asyncpg://svc@127.0.0.1/unused",
        amqp_url="amqp://guest:guest@127.0.0.1:5672/",
    )
    runtime = ServiceRuntime(service="widgets", settings=settings, metadata=MetaData())
    routes = [
        Route("/keys/{token}", key),
        Route("/keys/{token}/fresh", fresh),
        Route("/orders/{order_id}/wait", wait),
    ]
    return create_app(runtime, routes)


class Peer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: Any) -> None:
        pass


async def serve(app: Starlette) -> str | None:
    """Ask `app` the three requests; the type of the exception the server saw, if any."""
    headers = {"User-Agent": AGENT}
    query = f"?email={EMAIL}&token={TOKEN}"
    async with asgi_client(app, client=(PEER, 50000), raise_app_exceptions=False) as http:
        await http.get(f"/keys/{TOKEN}{query}", headers={**headers, "traceparent": TRACEPARENT})
        await http.get(f"/keys/{FAILING_TOKEN}/fresh{query}", headers=headers)
        waiting = asyncio.create_task(http.get(f"/orders/{uuid4()}/wait{query}", headers=headers))
        await handler_waiting.wait()
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
    # The server (here the transport) still sees the handler's exception itself.
    async with asgi_client(app, client=(PEER, 50000)) as http:
        try:
            await http.get(f"/keys/{FAILING_TOKEN}/fresh")
        except Exception as exc:
            return type(exc).__name__
    return None


async def call(port: int) -> None:
    """Calls to a provider in a message's span: one naming its operation, one not."""
    with telemetry.continued(None, "payment.finished process"):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await http.get(f"/internal/orders?email={EMAIL}", extensions=operation("search"))
            await http.get(f"/v1/payment/{PAYMENT_ID}?order_id={TOKEN}")
    # Our own spans, left by an exception whose message names the customer.
    with (
        contextlib.suppress(ValueError),
        telemetry.continued(None, "email attempt"),
        telemetry.child_span("smtp send"),
    ):
        raise ValueError(f"550 no such mailbox {EMAIL}")


def described(span: ReadableSpan) -> dict[str, Any]:
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": format(span.context.trace_id, "032x"),
        "attributes": dict(span.attributes or {}),
        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
        "status": [span.status.status_code.name, span.status.description],
    }


def main() -> None:
    lines = io.StringIO()
    configure_logging("widgets", "INFO", lines)
    on = telemetry.configure_tracing(
        "widgets", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    )
    provider = trace.get_tracer_provider()
    assert on
    assert isinstance(provider, TracerProvider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    peer = ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    threading.Thread(target=peer.serve_forever, daemon=True).start()
    raised = asyncio.run(serve(build()))
    asyncio.run(call(peer.server_address[1]))
    peer.shutdown()
    print(
        json.dumps(
            {
                "port": peer.server_address[1],
                "raised": raised,
                "spans": [described(span) for span in memory.get_finished_spans()],
                "access": [
                    entry
                    for entry in map(json.loads, lines.getvalue().splitlines())
                    if entry["logger"] == "bitloot.access"
                ],
            }
        )
    )
    os._exit(0)  # nothing to flush to the (absent) collector


if __name__ == "__main__":
    main()
