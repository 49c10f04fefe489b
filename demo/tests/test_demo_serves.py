"""`make demo` serves both sides on its one port, and what it prints opens them: the admin
with the printed login, the first order's page with its token, its reveal link and the
live status socket, over real HTTP against the demo's own server."""

import asyncio
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets

from bitloot_testing.net import free_port

PRINTED = re.compile(r"^demo: (admin UI|admin login|first order|its keys) +(.+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[int, dict[str, str]]]:
    """A demo of two orders left serving on a free port, and the lines it printed."""
    env = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "DATABASE_URL")}
    port = free_port()
    command = [sys.executable, "-m", "bitloot_demo", "--orders", "2", "--timeout", "90"]
    demo = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        output = _until(demo, "Ctrl-C to stop", deadline=time.monotonic() + 150)
        yield port, {match[1]: match[2] for match in PRINTED.finditer(output)}
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def _until(demo: subprocess.Popen[bytes], marker: str, deadline: float) -> str:
    """What the demo printed up to the line holding `marker` (read from the pipe as it
    comes: a buffered reader would hold lines the selector no longer sees)."""
    assert demo.stdout is not None
    output = ""
    with selectors.DefaultSelector() as selector:
        selector.register(demo.stdout, selectors.EVENT_READ)
        while marker not in output:
            left = deadline - time.monotonic()
            assert left > 0, f"the demo did not serve in time:\n{output}"
            assert demo.poll() is None, f"the demo ended:\n{output}"
            if selector.select(timeout=left):
                output += os.read(demo.stdout.fileno(), 65536).decode()
    return output


@pytest.mark.slow
def test_the_printed_admin_url_and_login_open_the_admin(served: tuple[int, dict[str, str]]) -> None:
    port, printed = served
    assert printed["admin UI"] == f"http://127.0.0.1:{port}/admin"
    login_line = re.fullmatch(r"user (\S+) +password (\S+)", printed["admin login"])
    assert login_line is not None, printed
    user, password = login_line.groups()
    admin = printed["admin UI"]
    login = httpx.post(f"{admin}/login", json={"username": user, "password": password})
    assert login.status_code == 200, login.text
    orders = httpx.get(
        f"{admin}/orders", headers={"Authorization": f"Bearer {login.json()['token']}"}
    )
    assert orders.status_code == 200
    assert _order_id(printed["first order"]) in orders.text


@pytest.mark.slow
def test_the_printed_order_page_opens_with_its_token_and_goes_live(
    served: tuple[int, dict[str, str]],
) -> None:
    port, printed = served
    page = printed["first order"]
    assert page.startswith(f"http://127.0.0.1:{port}/orders/")
    order_id = _order_id(page)
    answer = httpx.get(page)
    assert answer.status_code == 200, answer.text
    assert order_id in answer.text
    # The token in the link is what opens it.
    assert httpx.get(page.partition("?")[0]).status_code == 401
    # The live status socket answers on the same port, with the same token.
    token = parse_qs(urlsplit(page).query)["token"][0]
    socket_url = f"ws://127.0.0.1:{port}/ws/orders/{order_id}?token={token}"
    frame = json.loads(asyncio.run(_first_frame(socket_url)))
    assert (frame["order_id"], frame["status"]) == (order_id, "fulfilled")


@pytest.mark.slow
def test_the_printed_reveal_link_shows_the_first_orders_keys(
    served: tuple[int, dict[str, str]],
) -> None:
    port, printed = served
    link = printed["its keys"]
    assert link.startswith(f"http://127.0.0.1:{port}/keys/")
    answer = httpx.get(link)
    assert answer.status_code == 200, answer.text
    assert "Link invalid" not in answer.text


def _order_id(page: str) -> str:
    return urlsplit(page).path.rpartition("/")[2]


async def _first_frame(url: str) -> str:
    async with websockets.connect(url, open_timeout=10) as socket:
        return str(await socket.recv())
