"""A TCP proxy that can take a dependency away: while it is down, new connections are
refused and open ones are cut, as when a database, an S3 endpoint or an SMTP relay
becomes unreachable. The code under test is given the proxy's address, never the
server's (the chaos run, and tests of what survives an outage).

`Balancer` is the same forwarding spread over several servers in turn, as a Kubernetes
Service spreads connections over a Deployment's pods: the launcher serves a replicated
service's public port with it."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the server (OSError when it refuses)."""
        return await asyncio.open_connection(*self._target)

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server = await self._connect()
        except OSError:
            client.transport.abort()
            return
        self._open.update((client, server))
        try:
            await asyncio.gather(
                _pipe(client_reader, server), _pipe(server_reader, client), return_exceptions=True
            )
        finally:
            for writer in (client, server):
                self._open.discard(writer)
                writer.transport.abort()

    async def close(self) -> None:
        await self.down()


class Balancer(FaultyProxy):
    """Serves 127.0.0.1:`port`, handing each new connection to the next of `targets`
    (round robin); a target that refuses (an instance restarting) is skipped for the next,
    so a client is refused only when every target is."""

    def __init__(self, name: str, port: int, targets: list[tuple[str, int]]) -> None:
        if not targets:
            raise ValueError("a balancer needs at least one target")
        super().__init__(name, *targets[0], port=port)
        self.targets = targets
        self._next = 0

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        error: OSError | None = None
        for _ in range(len(self.targets)):
            target = self.targets[self._next % len(self.targets)]
            self._next += 1
            try:
                return await asyncio.open_connection(*target)
            except OSError as refused:
                error = refused
        assert error is not None
        raise error


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()


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
