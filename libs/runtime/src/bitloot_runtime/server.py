"""The HTTP/1.1 protocol every service's uvicorn speaks: uvicorn's httptools protocol with
the limits it lacks against slow and greedy clients.

uvicorn bounds how long a connection may sit idle *between* requests (keep-alive), but
not how long a client may take to send a request's head: a connection opened and left
silent, or whose headers come a byte every few seconds ("slowloris"), stays open for
ever, each holding a socket and memory. This protocol:

- closes a connection whose request head is not complete `header_timeout` seconds after
  the connection opened or the request's first byte arrived (keep-alive idleness is
  still uvicorn's `timeout_keep_alive`);
- answers 431 and closes when a head is still incomplete after `max_head_bytes` (httptools
  itself sets no bound);
- closes a new connection at once while `max_connections` are open in this process
  (WebSocket sessions count), so that a flood of connections exhausts neither file
  descriptors nor memory.

`protocol_class` builds the class uvicorn is given as ``http=``, limits bound.
"""

import asyncio
import logging
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger(__name__)

HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size bound on each request's
    head, and a bound on the connections open at once."""

    header_timeout: ClassVar[float] = 10.0
    max_head_bytes: ClassVar[int] = 64 * 1024
    max_connections: ClassVar[int] = 1000

    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # Counted before this one joins: `connections` holds the others.
        if len(self.connections) >= self.max_connections:
            logger.warning(
                "connection refused: too many open",
                extra={"reason": "max_connections", "open": len(self.connections)},
            )
            transport.abort()
            return
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is not None:
            if self._head_bytes > self.max_head_bytes:
                logger.info("connection closed: request head too large", extra={"reason": "431"})
                self._cancel_head_timer()
                self.transport.write(HEAD_TOO_LARGE)
                self.transport.close()
                return
            self._head_bytes += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        # The first request's deadline runs from the connection's opening; a later one's
        # (keep-alive, pipelined) from its first byte.
        self._arm_head_timer()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self._head_bytes = 0
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self.transport is not None:
            super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            logger.info("connection closed: request head too slow", extra={"reason": "timeout"})
            self.transport.close()


def protocol_class(
    *, header_timeout: float, max_head_bytes: int, max_connections: int
) -> type[LimitedHttpProtocol]:
    """A `LimitedHttpProtocol` with these limits, for uvicorn's ``http=``."""
    return type(
        "LimitedHttpProtocol",
        (LimitedHttpProtocol,),
        {
            "header_timeout": header_timeout,
            "max_head_bytes": max_head_bytes,
            "max_connections": max_connections,
        },
    )
