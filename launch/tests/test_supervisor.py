"""The supervisor keeps processes running as compose and Kubernetes do: a killed instance
comes back (after the back-off), replicas share the public port through the balancer, and
every instance writes its own log."""

import asyncio
import sys
from pathlib import Path

import httpx
import pytest

from bitloot_launch.supervisor import Backoff, Supervisor
from bitloot_launch.wiring import Process
from bitloot_testing.net import free_port
from bitloot_testing.proxy import RoundRobinProxy

TINY = Path(__file__).with_name("tiny_server.py")


def test_backoff_doubles_to_its_ceiling_and_starts_over_after_a_healthy_run() -> None:
    backoff = Backoff()
    crash_loop = [backoff.delay(uptime=1) for _ in range(7)]
    assert crash_loop == [0.5, 1, 2, 4, 8, 10, 10]
    assert backoff.delay(uptime=30) == 0.5
    assert backoff.delay(uptime=29) == 1


async def _named_server(name: bytes) -> asyncio.Server:
    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(name)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


async def _ask(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await reader.read()
    finally:
        writer.close()


async def test_balancer_hands_connections_round_robin_and_skips_a_refusing_target() -> None:
    first, second = await _named_server(b"a"), await _named_server(b"b")
    targets = [("127.0.0.1", s.sockets[0].getsockname()[1]) for s in (first, second)]
    balancer = RoundRobinProxy("tiny", targets, port=free_port())
    await balancer.up()
    try:
        assert [await _ask(balancer.port) for _ in range(4)] == [b"a", b"b", b"a", b"b"]
        second.close()
        await second.wait_closed()
        assert [await _ask(balancer.port) for _ in range(3)] == [b"a", b"a", b"a"]
    finally:
        await balancer.close()
        first.close()


async def test_the_balancer_keeps_each_client_s_own_address() -> None:
    # Payments limits refund claims per client address: behind a balancer that showed
    # its own address, every customer would share one bucket (a chaos run found it).
    async def echo_peer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(str(writer.get_extra_info("peername")[0]).encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo_peer, "127.0.0.1", 0)
    balancer = RoundRobinProxy("peer", [("127.0.0.1", server.sockets[0].getsockname()[1])])
    balancer.keep_client_address = True
    await balancer.up()
    try:
        seen = []
        for client in ("127.0.1.7", "127.0.1.8"):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", balancer.port, local_addr=(client, 0)
            )
            seen.append(await reader.read())
            writer.close()
        assert seen == [b"127.0.1.7", b"127.0.1.8"]
    finally:
        await balancer.close()
        server.close()


def tiny(instances: int) -> Process:
    port = free_port()
    env = {"TINY_PORT": str(port)}
    return Process("tiny", "tiny_server", env, "/ready", port, "TINY_PORT", instances)


def supervisor(process: Process, logs: Path) -> Supervisor:
    return Supervisor([process], logs, command=lambda _p: [sys.executable, str(TINY)])


@pytest.mark.slow
async def test_a_killed_instance_is_started_again_and_the_balancer_serves_throughout(
    tmp_path: Path,
) -> None:
    async with supervisor(tiny(2), tmp_path) as running, httpx.AsyncClient() as http:
        assert running.instances("tiny") == ["tiny-1", "tiny-2"]
        killed = running.pid("tiny-1")
        await running.kill("tiny-1")
        # The other replica answers on the public port while the first is down.
        for _ in range(4):
            answer = await http.get(running.url("tiny") + "/ready")
            assert answer.status_code == 200
        seconds = await running.ready_again("tiny-1", timeout=10)
        assert seconds < 5
        assert running.pid("tiny-1") not in (None, killed)
        assert running.restarts == {"tiny-1": 1, "tiny-2": 0}
        served = {(await http.get(running.url("tiny") + "/ready")).text for _ in range(4)}
        assert served == {str(running.pid("tiny-1")), str(running.pid("tiny-2"))}
    # One log per instance, appended across the restart.
    assert (tmp_path / "tiny-1.log").read_text().count("listening") == 2
    assert (tmp_path / "tiny-2.log").read_text().count("listening") == 1


@pytest.mark.slow
async def test_one_instance_serves_the_public_port_itself_and_stops_with_the_supervisor(
    tmp_path: Path,
) -> None:
    process = tiny(1)
    async with supervisor(process, tmp_path) as running:
        pid = running.pid("tiny-1")
        assert pid is not None
        assert running.url("tiny") == f"http://127.0.0.1:{process.port}"
    assert running.pid("tiny-1") is None
    assert (tmp_path / "tiny.log").exists()
