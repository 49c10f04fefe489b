"""`make up`: the production topology on one machine — it starts every process, an order
placed against it ends with a working reveal link in the saved email, every service
SIGKILLed is started again by the launcher and the next order is fulfilled too (payments
runs two replicas behind the launcher's balancer throughout), and Ctrl-C stops every
process cleanly."""

import asyncio
import email
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import asyncpg
import httpx
import pytest

from bitloot_launch.wiring import NAMES, SERVICES
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.servers import PostgresServer

LINK = re.compile(r"https?://\S+/keys/[A-Za-z0-9._~-]+")
READY = re.compile(r"^(\S+)\s*\| ready \(pid (\d+)\)$")
# Payments as two instances on ports of their own, its public port served by the launcher.
REPLICATED = {"payments": 2}


def free_port_range(size: int) -> int:
    """A base port whose next `size` ports are all free now."""
    for base in range(21000, 60000, 97):
        if all(_free(base + offset) for offset in range(size)):
            return base
    raise AssertionError("no free port range")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def line_containing(lines: list[str], text: str, child: subprocess.Popen[str]) -> str:
    """The first line of the launcher's output holding `text`, once it has come."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if found := next((line for line in lines if text in line), None):
            return found
        if child.poll() is not None:
            raise AssertionError("make up exited early:\n" + "".join(lines[-60:]))
        await asyncio.sleep(0.2)
    raise AssertionError(f"no line with {text!r}:\n" + "".join(lines[-60:]))


@pytest.fixture
async def databases(postgres_server: PostgresServer, run_id: str) -> AsyncIterator[str]:
    """A database prefix for this test's `make up`; its databases are dropped afterwards."""
    prefix = f"bitloot_up_{run_id}_"
    yield prefix
    admin = await asyncpg.connect(postgres_server.url)
    try:
        for service in SERVICES:
            name = prefix + service.replace("-", "_")
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.mark.slow
async def test_up_fulfils_orders_restarts_every_service_killed_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, postgres_server: PostgresServer, bus_prefix: BusNamespace, databases: str
) -> None:
    bus_prefix.track_services(SERVICES)
    base = free_port_range(26)
    lines: list[str] = []
    arguments = {
        "--port-base": str(base),
        "--postgres-url": postgres_server.url,
        "--amqp-url": bus_prefix.amqp_url,
        "--bus-prefix": bus_prefix.prefix,
        "--database-prefix": databases,
        "--state-dir": str(tmp_path / "state"),
        "--instances": ",".join(f"{name}={count}" for name, count in REPLICATED.items()),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "bitloot_demo.up", *(p for pair in arguments.items() for p in pair)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    reader = asyncio.create_task(asyncio.to_thread(lambda: lines.extend(child.stdout or [])))
    try:
        await line_containing(lines, "all processes ready", child)
        # The operator is told how to log in, with the password the launcher generated.
        password = json.loads((tmp_path / "state" / "secrets.json").read_text())["admin_password"]
        login = await line_containing(lines, "admin login", child)
        assert login.rstrip().endswith(f"password {password}")
        async with httpx.AsyncClient(timeout=10) as http:
            await order_is_emailed(http, base, "buyer@example.com", lines, child, tmp_path)
            # kill -9 of every service at once: the launcher starts each again.
            pids = ready_pids(lines)
            assert set(pids) == set(instance_labels())
            for label in instance_labels(SERVICES):
                os.kill(pids[label], signal.SIGKILL)
            await every_service_ready_again(http, base, pids, lines, child)
            await order_is_emailed(http, base, "second@example.com", lines, child, tmp_path)
        # Every line of output names the process it came from.
        labels = {line.split("|", 1)[0].strip() for line in lines if "|" in line}
        assert labels >= set(instance_labels())
        child.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(child.wait, 90) == 0, "".join(lines[-40:])
    finally:
        if child.poll() is None:
            child.kill()
        await reader
    assert "stopped cleanly" in lines[-1]
    assert not any(_listening(base + offset) for offset in range(len(NAMES)))
    assert (tmp_path / "state" / "secrets.json").stat().st_mode & 0o077 == 0


def instance_labels(names: tuple[str, ...] = NAMES) -> list[str]:
    """How the launcher names the instances of `names` in its output."""
    labels = []
    for name in names:
        count = REPLICATED.get(name, 1)
        labels += [name] if count == 1 else [f"{name}-{n}" for n in range(1, count + 1)]
    return labels


def ready_pids(lines: list[str]) -> dict[str, int]:
    """The pid each process had when the launcher last reported it ready."""
    pids: dict[str, int] = {}
    for line in lines:
        if match := READY.match(line.rstrip()):
            pids[match.group(1)] = int(match.group(2))
    return pids


async def every_service_ready_again(
    http: httpx.AsyncClient,
    base: int,
    killed: dict[str, int],
    lines: list[str],
    child: subprocess.Popen[str],
) -> None:
    """Each service has exited with SIGKILL, been restarted and answers /readyz again."""
    width = max(map(len, NAMES)) + 1  # the launcher's label column
    for label in instance_labels(SERVICES):
        exited = f"{label.ljust(width)}| exited with status -{signal.SIGKILL.value}"
        await line_containing(lines, exited, child)
    deadline = time.monotonic() + 60
    waiting = set(SERVICES)
    while waiting and time.monotonic() < deadline:
        for service in sorted(waiting):
            url = f"http://127.0.0.1:{base + NAMES.index(service)}/readyz"
            try:
                if (await http.get(url)).status_code == 200:
                    waiting.discard(service)
            except httpx.TransportError:
                pass
        await asyncio.sleep(0.5)
    assert not waiting, f"not ready again: {waiting}\n" + "".join(lines[-60:])
    restarted = ready_pids(lines)
    assert all(restarted[label] != killed[label] for label in instance_labels(SERVICES))


async def order_is_emailed(
    http: httpx.AsyncClient,
    base: int,
    address: str,
    lines: list[str],
    child: subprocess.Popen[str],
    tmp_path: Path,
) -> None:
    """An order placed now reaches its customer with a reveal link that opens."""
    placed = await http.post(
        f"http://127.0.0.1:{base + NAMES.index('payments')}/orders",
        json={"email": address, "lines": [{"sku": "cs-source", "qty": 1}]},
    )
    assert placed.status_code == 201, placed.text
    await line_containing(lines, f"mail to {address} saved", child)
    [saved] = [
        path
        for path in (tmp_path / "state" / "mail").iterdir()
        if address in path.read_text(errors="replace")
    ]
    message = email.message_from_bytes(saved.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    link = LINK.search(body.get_content())
    assert link is not None
    # The launcher prints the link decoded, whole on one line, as it is in the email.
    printed = await line_containing(lines, f"reveal link for {address}: ", child)
    assert printed.rstrip().rsplit(" ", 1)[1] == link.group(0)
    assert (await http.get(link.group(0))).status_code == 200


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
