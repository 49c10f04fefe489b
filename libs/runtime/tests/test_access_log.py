"""The access log, through the app every service builds (`create_app`): one line per
request naming the route by its template, its status however the request ended, and
the client as resolved through the trusted proxies; never a path, query, header or body."""

import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from runtime_support import captured_logs, child_env, log_entries, wait_until_serving
from sqlalchemy import MetaData
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Message

from bitloot_runtime.app import create_app
from bitloot_runtime.route_template import UNMATCHED
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import DEFAULT_RETRY_DELAYS, ServiceSettings, load_settings
from bitloot_testing.asgi import asgi_client
from bitloot_testing.net import free_port
from bitloot_testing.rabbitmq import BusNamespace

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvcmRlciJ9.c2lnbmF0dXJl"
# Shaped like nothing the redaction knows: only never writing the path keeps it out.
PLAIN_TOKEN = "rvl-7Q2mZpK9wX4tLc8N"
TRACE_ID = "4bf92f3577b34ea60a2b4a1d0a6a3a11"
PEER = "203.0.113.9"
SERVE_CHILD = Path(__file__).parent / "serve_child.py"


async def client_host(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.client.host if request.client else "-")


async def boom(_request: Request) -> PlainTextResponse:
    raise RuntimeError("handler bug")


async def upload(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


ROUTES = [
    Route("/orders/{order_id}", client_host),
    Route("/keys/{token}", client_host),
    Route("/boom", boom),
    Route("/upload", upload, methods=["POST"]),
]


def build(trusted_proxies: str = "") -> Starlette:
    settings = load_settings(
        ServiceSettings,
        database_url="postgresql+asyncpg://svc@127.0.0.1/x",
        amqp_url="amqp://guest:guest@127.0.0.1:5672/",
        trusted_proxies=trusted_proxies,
    )
    runtime = ServiceRuntime(service="widgets", settings=settings, metadata=MetaData())
    return create_app(runtime, ROUTES)


def access_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [entry for entry in log_entries(stream) if entry["logger"] == "bitloot.access"]


async def get(
    app: Starlette, path: str, headers: dict[str, str] | None = None, peer: str = PEER
) -> httpx.Response:
    async with asgi_client(app, client=(peer, 50000), raise_app_exceptions=False) as http:
        return await http.get(path, headers=headers)


async def test_one_line_per_request_names_method_route_status_duration_client_and_order(
    lines: io.StringIO,
) -> None:
    order_id = str(uuid4())
    traceparent = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    await get(build(), f"/orders/{order_id}", {"traceparent": traceparent})
    [entry] = access_lines(lines)
    assert entry["level"] == "INFO"
    assert entry["message"] == "request"
    assert isinstance(entry["duration_ms"], float)
    assert entry["duration_ms"] >= 0
    assert {k: entry[k] for k in ("method", "route", "status", "client", "order_id")} == {
        "method": "GET",
        "route": "/orders/{order_id}",
        "status": 200,
        "client": PEER,
        "order_id": order_id,
    }
    assert entry["trace_id"] == TRACE_ID


async def test_a_token_in_the_path_or_query_never_reaches_the_line(lines: io.StringIO) -> None:
    await get(build(), f"/keys/{PLAIN_TOKEN}?token={JWT}&sig={PLAIN_TOKEN}", {"Cookie": JWT})
    await get(build(), f"/orders/{JWT}?token={PLAIN_TOKEN}")
    first, second = access_lines(lines)
    assert first["route"] == "/keys/{token}"
    assert "order_id" not in second  # a path segment that is no order id is the client's
    written = lines.getvalue()
    assert PLAIN_TOKEN not in written
    assert JWT not in written
    assert "eyJ" not in written


async def test_an_unmatched_path_is_logged_as_unmatched(lines: io.StringIO) -> None:
    await get(build(), f"/wp-login.php/{PLAIN_TOKEN}")
    [entry] = access_lines(lines)
    assert (entry["route"], entry["status"]) == (UNMATCHED, 404)
    assert PLAIN_TOKEN not in lines.getvalue()


async def test_a_request_that_raises_is_logged_as_a_500(lines: io.StringIO) -> None:
    response = await get(build(), "/boom")
    assert response.status_code == 500
    [entry] = access_lines(lines)
    assert (entry["route"], entry["status"]) == ("/boom", 500)


async def test_a_client_that_hangs_up_mid_body_is_logged_as_a_499(lines: io.StringIO) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-length", b"100")],
        "client": (PEER, 50000),
        "server": ("svc", 80),
    }
    await build()(scope, receive, send)
    [entry] = access_lines(lines)
    assert (entry["route"], entry["status"], entry["client"]) == ("/upload", 499, PEER)


async def test_probes_are_logged_at_debug_only(lines: io.StringIO) -> None:
    app = build()
    for path in ("/healthz", "/readyz", "/metrics"):
        await get(app, path)
    assert access_lines(lines) == []
    logging.getLogger().setLevel(logging.DEBUG)
    await get(app, "/metrics")
    [entry] = access_lines(lines)
    assert (entry["level"], entry["route"]) == ("DEBUG", "/metrics")


# Trusted proxies: the client every reader of `request.client` sees, and the log shows.


async def resolved_client(trusted: str, peer: str, forwarded_for: str | None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    with captured_logs() as stream:
        response = await get(build(trusted), f"/orders/{uuid4()}", headers, peer=peer)
    [entry] = access_lines(stream)
    assert entry["client"] == response.text, "the log and the handler disagree"
    return response.text


async def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    assert await resolved_client("10.0.0.0/8", PEER, "198.51.100.7") == PEER


async def test_no_peer_is_trusted_by_default_not_even_localhost() -> None:
    assert await resolved_client("", "127.0.0.1", "198.51.100.7") == "127.0.0.1"


async def test_the_client_behind_a_trusted_proxy_is_the_one_it_names() -> None:
    assert await resolved_client("10.0.0.0/8", "10.1.2.3", "198.51.100.7") == "198.51.100.7"


async def test_a_chain_resolves_to_the_right_most_address_that_is_no_trusted_proxy() -> None:
    # The client forged the first entry; the ingress appended the client's real address;
    # an inner trusted proxy appended the ingress's.
    chain = "6.6.6.6, 198.51.100.7, 10.9.8.7"
    assert await resolved_client("10.0.0.0/8, 192.0.2.1", "192.0.2.1", chain) == "198.51.100.7"


# The server every service runs (`run`): uvicorn's own proxy handling, which believes
# X-Forwarded-For from 127.0.0.1, must not resolve the client behind the setting's back.


@pytest.fixture
def serve_env(database_url: str, bus_prefix: BusNamespace) -> dict[str, str]:
    return child_env(database_url, bus_prefix, DEFAULT_RETRY_DELAYS, {})


async def served_client(env: dict[str, str], trusted: str) -> tuple[str, list[str]]:
    """What a served widgets service, trusting `trusted`, takes for the client of a
    request from 127.0.0.1 naming another in X-Forwarded-For; and its access-log lines."""
    port = free_port()
    settings = {"WIDGETS_HTTP_PORT": str(port), "WIDGETS_TRUSTED_PROXIES": trusted}
    process = subprocess.Popen(
        [sys.executable, str(SERVE_CHILD)],
        env={**env, **settings},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        await wait_until_serving(port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            answer = await http.get(f"/client/{uuid4()}", headers={"X-Forwarded-For": "1.2.3.4"})
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    logged = [line for line in stderr.splitlines() if '"bitloot.access"' in line]
    return answer.text, [str(json.loads(line)["client"]) for line in logged if "/client/" in line]


@pytest.mark.slow
async def test_a_served_service_believes_localhost_only_when_told_to(
    serve_env: dict[str, str],
) -> None:
    assert await served_client(serve_env, "") == ("127.0.0.1", ["127.0.0.1"])
    assert await served_client(serve_env, "127.0.0.1") == ("1.2.3.4", ["1.2.3.4"])
