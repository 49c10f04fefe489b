"""Compose's TLS proxy (deploy/caddy/Caddyfile) forwards each public route to its service
and nothing else, replaces a client's forged X-Forwarded-For, caps bodies and drops a
client that never finishes its headers.

Caddy runs the shipped file with two changes only: its sites on local plain-HTTP ports
(BITLOOT_SHOP_HOST / BITLOOT_KEYS_HOST, as compose sets them) and each upstream
(`payments:8000`, ...) replaced by a stub here that answers with what it received and
which service the file chose (no TLS and no `payments:8000` on this machine)."""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
CADDY = shutil.which("caddy")
SERVICES = ("payments", "kinguin-gateway", "fulfillment", "delivery")


class Echo(BaseHTTPRequestHandler):
    """Answers 200 with the service the proxy meant, the path and X-Forwarded-For."""

    bodies: list[int] = []  # the length of every body received, once read to its end

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.bodies.append(len(self.rfile.read(length)))
        body = json.dumps(
            {
                "service": self.headers.get("x-test-upstream"),
                "path": self.path,
                "forwarded_for": self.headers.get("x-forwarded-for"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    if CADDY is None:
        pytest.skip("caddy is not installed (tools/system_packages.sh ensure deploy)")
    echo = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    text = CADDYFILE.read_text()
    home = tmp_path_factory.mktemp("caddy")
    caddyfile = home / "Caddyfile"
    for service in SERVICES:
        upstream = f"reverse_proxy {service}:8000 {{"
        assert text.count(upstream) == 1, upstream
        stub = f"reverse_proxy 127.0.0.1:{echo.server_port} {{\n\t\t\theader_up X-Test-Upstream "
        text = text.replace(upstream, stub + service)
    caddyfile.write_text(text)
    shop, keys = _free_port(), _free_port()
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "BITLOOT_SHOP_HOST": f"http://127.0.0.1:{shop}",
        "BITLOOT_KEYS_HOST": f"http://127.0.0.1:{keys}",
    }
    process = subprocess.Popen(
        [CADDY, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    urls = {"shop": f"http://127.0.0.1:{shop}", "keys": f"http://127.0.0.1:{keys}"}
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(urls["keys"] + "/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield urls
    finally:
        process.terminate()
        process.wait(timeout=10)
        echo.shutdown()


ORDER = "0b0d6b5e-2f3a-4d7e-9c1a-1f2e3d4c5b6a"
FORWARDED = [
    ("shop", "POST", "/orders", "payments"),
    ("shop", "GET", f"/orders/{ORDER}", "payments"),
    ("shop", "GET", "/orders/live.js", "payments"),
    ("shop", "POST", "/payments/ipn", "payments"),
    ("shop", "POST", "/payments/payout-ipn", "payments"),
    ("shop", "GET", "/refunds/claim?token=t", "payments"),
    ("shop", "POST", "/refunds/claim", "payments"),
    ("shop", "POST", "/refunds/claim/new-link", "payments"),
    ("shop", "POST", "/kinguin/webhooks", "kinguin-gateway"),
    ("shop", "GET", f"/ws/orders/{ORDER}", "fulfillment"),
    ("keys", "GET", "/keys/some-token", "delivery"),
    ("keys", "GET", "/keys/-/copy.js", "delivery"),
    ("keys", "POST", "/keys/some-token/fresh-link", "delivery"),
    ("keys", "POST", f"/orders/{ORDER}/link", "delivery"),
]
REFUSED = [
    (site, method, path)
    for site in ("shop", "keys")
    for method, path in [
        ("GET", "/admin"),
        ("GET", "/admin/login"),
        ("POST", "/admin/api/orders/x/retry"),
        ("GET", "/internal/orders"),
        ("POST", "/internal/flags/1/approve"),
        ("GET", "/metrics"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/"),
        ("GET", "/openapi.json"),
        ("GET", "/kinguin/webhooks/../../internal/orders"),
    ]
] + [
    ("shop", "GET", "/keys/some-token"),
    ("keys", "GET", f"/orders/{ORDER}"),
    ("keys", "POST", "/orders"),
    ("shop", "GET", "/kinguin/webhooks"),
]


@pytest.mark.parametrize(("site", "method", "path", "service"), FORWARDED)
def test_the_proxy_forwards_each_public_route_to_its_service(
    proxy: dict[str, str], site: str, method: str, path: str, service: str
) -> None:
    answer = httpx.request(method, proxy[site] + path, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["service"] == service
    assert answer.json()["path"] == path


@pytest.mark.parametrize(("site", "method", "path"), REFUSED)
def test_the_proxy_refuses_admin_internal_metrics_and_everything_else(
    proxy: dict[str, str], site: str, method: str, path: str
) -> None:
    answer = httpx.request(method, proxy[site] + path, timeout=10)
    assert answer.status_code == 404
    assert answer.headers.get("content-type") != "application/json"  # not the stub's


def test_a_forged_forwarded_for_is_replaced_by_the_clients_address(
    proxy: dict[str, str],
) -> None:
    """The services trust the proxy's X-Forwarded-For; a client's own must not survive."""
    headers = {"X-Forwarded-For": "203.0.113.7"}
    answer = httpx.post(proxy["shop"] + "/orders", headers=headers, timeout=10)
    assert answer.json()["forwarded_for"] == "127.0.0.1"


def test_a_body_larger_than_any_public_request_never_reaches_the_service(
    proxy: dict[str, str],
) -> None:
    """The proxy refuses it: Caddy 2.6 (Debian's, which runs this test) cuts the upstream
    request and answers 502; later versions may answer 413. The service never gets it."""
    answer = httpx.post(proxy["shop"] + "/orders", content=b"x" * 200_000, timeout=10)
    assert answer.status_code in (413, 502)
    assert all(length <= 64 * 1024 for length in Echo.bodies)


@pytest.mark.slow
def test_a_client_that_never_finishes_its_headers_is_dropped(proxy: dict[str, str]) -> None:
    """Slowloris: headers trickle in and never end; the proxy hangs up after its header
    timeout (10 s) instead of holding the connection."""
    port = int(proxy["shop"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /orders HTTP/1.1\r\nHost: shop\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 20:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                closed = True
                break
            sock.settimeout(1)
            try:
                if sock.recv(4096) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed
        assert 8 <= time.monotonic() - started <= 15
