"""A TCP proxy that can take a dependency away: while it is down, new connections are
refused and open ones are cut, as when a database, an S3 endpoint or an SMTP relay
becomes unreachable. The code under test is given the proxy's address, never the
server's (the chaos run, and tests of what survives an outage).

`RoundRobinProxy` is the same forwarding spread over several servers in turn, as a
Kubernetes Service spreads connections over a Deployment's pods: the launcher serves a
replicated service's public port with it, and the chaos run its RabbitMQ cluster."""

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from bitloot_testing.net import free_port


class FaultyProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` while up."""

    def __init__(self, name: str, target_host: str, target_port: int, port: int = 0) -> None:
        self.name = name
        self.port = port or free_port()
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._watches: list[Watch] = []
        # Connect to the server from the client's address (`_source_of`), so that a
        # service behind the proxy sees, audits and rate-limits its real clients.
        self.keep_client_address = False

    async def up(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        """Stop listening (connections are refused) and reset every open connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):
            transport = writer.transport
            transport.abort()
        self._open.clear()

    @property
    def is_up(self) -> bool:
        return self._server is not None

    async def cut(self) -> None:
        """Reset every open connection and keep listening: a connection cut, after which
        clients reconnect (the broker connection cut of the chaos run)."""
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def watch(self, pattern: bytes, *, hold: bool = False) -> "Watch":
        """A `Watch` that fires on the first connection whose client sends `pattern`;
        with `hold`, the server's answers on that connection are held from then on until
        `Watch.release()` (e.g. an SMTP server's reply to the end of DATA: the message is
        taken, the sender does not know yet)."""
        watch = Watch(pattern, hold)
        self._watches.append(watch)
        return watch

    def unwatch(self, watch: "Watch") -> None:
        """Stop looking for `watch`'s pattern and let anything it held through."""
        watch.release()
        if watch in self._watches:
            self._watches.remove(watch)

    async def _connect(
        self, source: str | None = None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the server, from address `source` when given; OSError when
        it cannot be reached."""
        return await asyncio.open_connection(*self._target, local_addr=_bind(source))

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server = await self._connect(self._source_of(client))
        except OSError:
            client.transport.abort()
            return
        self._open.update((client, server))
        holds: list[Watch] = []
        try:
            await asyncio.gather(
                _pipe(client_reader, server, self._spotter(holds, client)),
                _pipe(server_reader, client, _holder(holds)),
                return_exceptions=True,
            )
        finally:
            for writer in (client, server):
                self._open.discard(writer)
                writer.transport.abort()

    def _source_of(self, client: asyncio.StreamWriter) -> str | None:
        """The address to connect to the server from: the client's own, when the proxy
        keeps client addresses and the client is on loopback (any 127.x address can be
        bound here), as Kubernetes' Service routing keeps them (it rewrites the
        destination, not the source); otherwise the proxy's."""
        if not self.keep_client_address:
            return None
        peer = client.get_extra_info("peername")
        host = str(peer[0]) if peer else ""
        return host if host.startswith("127.") else None

    def _spotter(
        self, holds: list["Watch"], client: asyncio.StreamWriter
    ) -> Callable[[bytes], Awaitable[None]]:
        """What looks at a connection's client bytes for the proxy's watches (across
        chunk boundaries); a watch that fires records the client's port and, with
        `hold`, is added to `holds`."""
        peer = client.get_extra_info("peername")
        client_port = int(peer[1]) if peer else None
        tail = b""

        async def spot(data: bytes) -> None:
            nonlocal tail
            window = tail + data
            for watch in self._watches:
                # Only an occurrence ending in this chunk: one wholly in the tail was sent
                # before (perhaps before the watch was set).
                start = max(0, len(tail) - len(watch.pattern) + 1)
                if not watch.seen.is_set() and window.find(watch.pattern, start) >= 0:
                    watch.client_port = client_port
                    watch.seen.set()
                    if watch.hold:
                        holds.append(watch)
            tail = window[-64:]

        return spot

    async def close(self) -> None:
        await self.down()


@dataclass(eq=False)
class Watch:
    """A pattern a proxy looks for in what clients send (`FaultyProxy.watch`)."""

    pattern: bytes
    hold: bool
    seen: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    # The port the client connected from, once seen: with `connection_owner`-style
    # lookups, which process sent the pattern.
    client_port: int | None = None

    def release(self) -> None:
        """Let the held answers through."""
        self.released.set()


def _holder(holds: list[Watch]) -> Callable[[bytes], Awaitable[None]]:
    """Waits, before each server chunk is passed on, for every watch holding it."""

    async def hold(_data: bytes) -> None:
        for watch in holds:
            await watch.released.wait()

    return hold


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    before: Callable[[bytes], Awaitable[None]],
) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            await before(data)
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()


class RoundRobinProxy(FaultyProxy):
    """One address in front of several servers, as a load balancer or a Kubernetes
    Service is: each new connection goes to the next server that accepts it, skipping
    those that refuse (a dead node), so a client that reconnects finds a live one."""

    def __init__(self, name: str, targets: Sequence[tuple[str, int]], port: int = 0) -> None:
        if not targets:
            raise ValueError("a round-robin proxy needs at least one server")
        super().__init__(name, *targets[0], port=port)
        self.targets = list(targets)
        self._turn = itertools.cycle(range(len(self.targets)))

    async def _connect(
        self, source: str | None = None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        error: OSError = ConnectionRefusedError("no server accepts connections")
        for _ in self.targets:
            host, port = self.targets[next(self._turn)]
            try:
                return await asyncio.open_connection(host, port, local_addr=_bind(source))
            except OSError as refused:
                error = refused
        raise error


def _bind(source: str | None) -> tuple[str, int] | None:
    """`local_addr` for a connection from `source` (any free port), or None."""
    return (source, 0) if source else None


@asynccontextmanager
async def through_proxy(url: str) -> AsyncIterator[tuple[FaultyProxy, str]]:
    """A proxy (up) in front of the server `url` names, and the same URL through it; the
    proxy is closed at the end. E.g. a database URL, to cut the database away."""
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError("the URL names no host and port")
    proxy = FaultyProxy(parts.scheme, parts.hostname, parts.port)
    await proxy.up()
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{proxy.port}" if credentials else f"127.0.0.1:{proxy.port}"
    try:
        yield proxy, urlunsplit(parts._replace(netloc=netloc))
    finally:
        await proxy.close()
