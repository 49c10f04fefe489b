"""The fault proxy: traffic passes while it is up; while down, new connections are
refused and open ones are cut; up again, traffic passes again."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from bitloot_testing.net import free_port
from bitloot_testing.proxy import FaultyProxy, RoundRobinProxy


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultyProxy]:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    faulty = FaultyProxy("echo", "127.0.0.1", port)
    await faulty.up()
    try:
        yield faulty
    finally:
        await faulty.close()
        server.close()
        await server.wait_closed()


async def round_trip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    answer = await asyncio.wait_for(reader.readexactly(len(payload)), 5)
    writer.close()
    return answer


async def test_traffic_passes_while_the_proxy_is_up(proxy: FaultyProxy) -> None:
    assert await round_trip(proxy.port, b"hello" * 1000) == b"hello" * 1000


async def test_down_refuses_new_connections_and_cuts_open_ones(proxy: FaultyProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"ping")
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
    await proxy.down()
    assert not proxy.is_up
    assert await asyncio.wait_for(reader.read(10), 5) == b""  # the open connection is cut
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.close()


async def test_up_again_on_the_same_port_after_an_outage(proxy: FaultyProxy) -> None:
    await proxy.down()
    await proxy.up()
    assert await round_trip(proxy.port, b"back") == b"back"


async def test_cut_resets_open_connections_and_keeps_listening(proxy: FaultyProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"ping")
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
    await proxy.cut()
    assert await asyncio.wait_for(reader.read(10), 5) == b""
    assert proxy.is_up
    assert await round_trip(proxy.port, b"again") == b"again"
    writer.close()


async def test_a_watch_holds_the_answers_after_its_pattern_until_released(
    proxy: FaultyProxy,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    watch = proxy.watch(b"END", hold=True)
    writer.write(b"before")
    assert await asyncio.wait_for(reader.readexactly(6), 5) == b"before"
    writer.write(b"EN")  # a pattern split across chunks is still seen
    assert await asyncio.wait_for(reader.readexactly(2), 5) == b"EN"
    writer.write(b"D")
    await asyncio.wait_for(watch.seen.wait(), 5)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(1), 0.3)
    proxy.unwatch(watch)
    assert await asyncio.wait_for(reader.readexactly(1), 5) == b"D"
    writer.close()


async def test_round_robin_skips_a_server_that_refuses() -> None:
    live = await asyncio.start_server(echo, "127.0.0.1", 0)
    dead = free_port()  # nothing listens: a node that is down
    balancer = RoundRobinProxy("amqp", [("127.0.0.1", dead), live.sockets[0].getsockname()])
    await balancer.up()
    try:
        for attempt in range(4):  # whatever the turn, every client reaches the live one
            assert await round_trip(balancer.port, b"x%d" % attempt) == b"x%d" % attempt
    finally:
        await balancer.close()
        live.close()
        await live.wait_closed()
