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
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets

from bitloot_testing.net import free_port
from bitloot_testing.totp import authenticator

PRINTED = re.compile(
    r"^demo: (admin UI|admin login|admin 2FA|first order|its keys) +(.+)$", re.MULTILINE
)


@dataclass
class Demo:
    """A demo left serving, and what it has printed so far."""

    process: subprocess.Popen[bytes]
    port: int
    output: str = ""

    def until(self, pattern: str, seconds: float) -> re.Match[str]:
        """Read what the demo prints (from the pipe as it comes: a buffered reader would
        hold lines the selector no longer sees) until `pattern` matches it."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + seconds
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while (found := re.search(pattern, self.output, re.MULTILINE)) is None:
                left = deadline - time.monotonic()
                assert left > 0, f"no {pattern!r} in time:\n{self.output}"
                assert self.process.poll() is None, f"the demo ended:\n{self.output}"
                if selector.select(timeout=left):
                    self.output += os.read(self.process.stdout.fileno(), 65536).decode()
        return found

    @property
    def printed(self) -> dict[str, str]:
        return {match[1]: match[2] for match in PRINTED.finditer(self.output)}

    @property
    def first_order(self) -> tuple[str, str]:
        """The first order's id and token, from its printed page link."""
        page = urlsplit(self.printed["first order"])
        return page.path.rpartition("/")[2], parse_qs(page.query)["token"][0]

    def admin_session(self) -> dict[str, str]:
        """An API session of the printed admin login, with a code of the printed TOTP
        secret (the demo's admin is an owner)."""
        login_line = re.fullmatch(r"user (\S+) +password (\S+)", self.printed["admin login"])
        assert login_line is not None, self.printed
        user, password = login_line.groups()
        secret = re.match(r"TOTP secret ([A-Z2-7]+) ", self.printed["admin 2FA"])
        assert secret is not None, self.printed
        code = authenticator(secret.group(1)).code()
        login = httpx.post(
            f"{self.printed['admin UI']}/login",
            json={"username": user, "password": password, "totp": code},
        )
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['token']}"}


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """A demo of two orders left serving on a free port."""
    env = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "DATABASE_URL")}
    port = free_port()
    command = [sys.executable, "-m", "bitloot_demo", "--orders", "2", "--timeout", "90"]
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        running = Demo(process, port)
        running.until("Ctrl-C to stop", seconds=150)
        yield running
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_the_printed_admin_url_and_login_open_the_admin(demo: Demo) -> None:
    assert demo.printed["admin UI"] == f"http://127.0.0.1:{demo.port}/admin"
    orders = httpx.get(f"{demo.printed['admin UI']}/orders", headers=demo.admin_session())
    assert orders.status_code == 200
    assert demo.first_order[0] in orders.text


@pytest.mark.slow
def test_the_printed_order_page_opens_with_its_token_and_goes_live(demo: Demo) -> None:
    page = demo.printed["first order"]
    assert page.startswith(f"http://127.0.0.1:{demo.port}/orders/")
    order_id, token = demo.first_order
    answer = httpx.get(page)
    assert answer.status_code == 200, answer.text
    assert order_id in answer.text
    # The token in the link is what opens it.
    assert httpx.get(page.partition("?")[0]).status_code == 401
    # The live status socket answers on the same port, with the same token.
    socket_url = f"ws://127.0.0.1:{demo.port}/ws/orders/{order_id}?token={token}"
    frame = json.loads(asyncio.run(_first_frame(socket_url)))
    assert (frame["order_id"], frame["status"]) == (order_id, "fulfilled")


@pytest.mark.slow
def test_the_printed_reveal_link_shows_the_first_orders_keys(demo: Demo) -> None:
    link = demo.printed["its keys"]
    assert link.startswith(f"http://127.0.0.1:{demo.port}/keys/")
    _assert_reveals(link)


@pytest.mark.slow
def test_a_customer_gets_a_new_link_on_the_same_port(demo: Demo) -> None:
    order_id, token = demo.first_order
    answer = httpx.post(
        f"http://127.0.0.1:{demo.port}/orders/{order_id}/link",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["link"].startswith(f"http://127.0.0.1:{demo.port}/keys/")
    _assert_reveals(answer.json()["link"])


@pytest.mark.slow
def test_a_key_email_sent_while_serving_prints_its_link(demo: Demo) -> None:
    order_id, _token = demo.first_order
    resend = httpx.post(
        f"{demo.printed['admin UI']}/api/orders/{order_id}/resend-email",
        headers=demo.admin_session(),
    )
    assert resend.status_code < 300, resend.text
    printed = demo.until(r"^demo: key email to buyer0@demo\.bitloot\.test: (\S+)$", seconds=60)
    assert printed[1].startswith(f"http://127.0.0.1:{demo.port}/keys/")
    _assert_reveals(printed[1])


def _assert_reveals(link: str) -> None:
    answer = httpx.get(link)
    assert answer.status_code == 200, answer.text
    assert "Link invalid" not in answer.text


async def _first_frame(url: str) -> str:
    async with websockets.connect(url, open_timeout=10) as socket:
        return str(await socket.recv())
