"""The server every service runs (`bitloot_runtime.app.run`, `bitloot_runtime.server`),
as a real process: slow clients that never finish their headers are disconnected after
the header timeout while a normal client is served meanwhile; heads beyond the size bound
are refused, however they arrive and on whichever request of a connection; a refusal waits
for the response being written; connections beyond the bound are closed at once."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from runtime_support import wait_until_serving

from bitloot_testing.net import free_port

# `run` serving a plain app: the server is what is under test, not the runtime.
PLAIN_CHILD = Path(__file__).parent / "plain_child.py"
HEADER_TIMEOUT = 2.0
SLOW_CLIENTS = 100
# A head that never ends: the request line, then one header trickled a byte at a time.
SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: svc\r\nX-Slow: " + b"a" * 10_000

Serve = Callable[[dict[str, str]], AbstractAsyncContextManager[int]]

pytestmark = pytest.mark.slow


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    """Runs a plain app through `run` with these WIDGETS_* settings; its port."""
    env = dict(os.environ)

    @asynccontextmanager
    async def served(settings: dict[str, str]) -> AsyncIterator[int]:
        port = free_port()
        log = (tmp_path / "serve.log").open("w")
        process = subprocess.Popen(
            [sys.executable, str(PLAIN_CHILD)],
            env={**env, "WIDGETS_HTTP_PORT": str(port), **settings},
            stderr=log,
        )
        try:
            await wait_until_serving(port)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()

    return served


async def trickle(port: int, gap: float, budget: float) -> float | None:
    """Send `SLOW_HEAD` one byte every `gap` seconds; seconds until the server closed the
    connection, None if it was still open after `budget` seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        for byte in SLOW_HEAD:
            if time.monotonic() - started > budget:
                return None
            try:
                writer.write(bytes([byte]))
                await writer.drain()
                if await asyncio.wait_for(reader.read(1), timeout=gap) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                continue
            except ConnectionError:
                return time.monotonic() - started
        return None
    finally:
        writer.close()


async def test_what_the_build_made_is_left_out_of_the_collectors_full_passes(
    serve: Serve,
) -> None:
    """A full pass walks every object the collector tracks, and holds the whole service
    meanwhile (100-700 ms in the bench): the start-up heap, alive as long as the process,
    is frozen before the server serves (`gc.freeze`)."""
    async with serve({}) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        assert int((await http.get("/gc")).text) > 10_000


async def test_slow_heads_are_disconnected_while_a_normal_client_is_served(serve: Serve) -> None:
    async with serve({"WIDGETS_HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT)}) as port:
        slow = [asyncio.create_task(trickle(port, 0.5, 15.0)) for _ in range(SLOW_CLIENTS)]
        statuses = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            while not all(task.done() for task in slow):
                statuses.append((await http.get("/healthz")).status_code)
                await asyncio.sleep(0.2)
        closed_after = [task.result() for task in slow]
    closed = [seconds for seconds in closed_after if seconds is not None]
    assert len(closed) == SLOW_CLIENTS, "a slow connection was still open after 15 s"
    assert all(HEADER_TIMEOUT - 0.5 <= seconds <= HEADER_TIMEOUT + 3 for seconds in closed)
    assert len(statuses) >= 5
    assert set(statuses) == {200}


async def test_a_head_beyond_the_size_bound_is_refused(serve: Serve) -> None:
    async with serve({"WIDGETS_HTTP_MAX_HEAD_BYTES": str(16 * 1024)}) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answer = asyncio.create_task(reader.read(64))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: svc\r\n")
        try:
            for _ in range(1000):  # 1 MB at most
                if answer.done():
                    break
                writer.write(b"X-Filler: " + b"a" * 1000 + b"\r\n")
                await writer.drain()
                await asyncio.sleep(0.01)
        except ConnectionError:
            pass
        status_line = await asyncio.wait_for(answer, timeout=10)
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 431 ")


def head_of(size: int) -> bytes:
    """A complete GET /healthz head of exactly `size` bytes."""
    start, end = b"GET /healthz HTTP/1.1\r\nHost: svc\r\nX-Pad: ", b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


async def healthz_answer(reader: asyncio.StreamReader) -> bytes:
    """One /healthz response's status line (its body, ``ok``, read too)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    await asyncio.wait_for(reader.readexactly(2), timeout=10)
    return head.split(b"\r\n")[0]


async def test_a_complete_head_one_byte_over_the_bound_is_refused_on_any_request(
    serve: Serve,
) -> None:
    bound = 16 * 1024
    async with serve({"WIDGETS_HTTP_MAX_HEAD_BYTES": str(bound)}) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head_of(bound))
        assert await healthz_answer(reader) == b"HTTP/1.1 200 OK"
        # The same keep-alive connection's next request: its first read counts too.
        writer.write(head_of(bound + 1))
        second = await asyncio.wait_for(reader.read(), timeout=10)
        writer.close()
        assert second.startswith(b"HTTP/1.1 431 ")

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head_of(bound + 1))
        first = await asyncio.wait_for(reader.read(), timeout=10)
        writer.close()
        assert first.startswith(b"HTTP/1.1 431 ")

        # A body sent in the same write as its head is no part of the head.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = b"b" * (2 * bound)
        writer.write(
            b"POST /healthz HTTP/1.1\r\nHost: svc\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        assert await healthz_answer(reader) == b"HTTP/1.1 200 OK"
        writer.close()


async def test_a_slow_pipelined_head_does_not_cut_the_response_being_written(
    serve: Serve,
) -> None:
    async with serve({"WIDGETS_HTTP_HEADER_TIMEOUT": "0.5"}) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /slow HTTP/1.1\r\nHost: svc\r\n\r\n")
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: svc\r\n")  # never finished
        started = time.monotonic()
        body = await asyncio.wait_for(reader.read(), timeout=10)
        writer.close()
    # The whole chunked body, then the close (the slow head's deadline passed meanwhile).
    assert body.endswith(b"0\r\n\r\n"), body
    assert b"\r\na\r\n" in body
    assert b"\r\nb\r\n" in body
    assert time.monotonic() - started >= 1.0


async def test_connections_beyond_the_bound_are_closed_at_once(serve: Serve) -> None:
    bound = 20
    settings = {"WIDGETS_HTTP_MAX_CONNECTIONS": str(bound), "WIDGETS_HTTP_HEADER_TIMEOUT": "60"}
    async with serve(settings) as port:
        await asyncio.sleep(0.5)  # the start-up probe's connection is gone
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(bound)]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            refused = await asyncio.wait_for(reader.read(), timeout=5)
        except ConnectionError:
            refused = b""
        writer.close()
        assert refused == b""
        for _reader, held_writer in held[:5]:
            held_writer.close()
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).status_code == 200
        for _reader, held_writer in held[5:]:
            held_writer.close()
