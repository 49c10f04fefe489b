"""The HTTP/1.1 protocol every service's uvicorn speaks: uvicorn's httptools protocol with
the limits it lacks against slow and greedy clients.

uvicorn bounds how long a connection may sit idle *between* requests (keep-alive), but
not how long a client may take to send a request's head: a connection opened and left
silent, or whose headers come a byte every few seconds ("slowloris"), stays open for
ever, each holding a socket and memory. This protocol:

- closes a connection whose request head is not complete `header_timeout` seconds after
  the connection opened or the request's first byte arrived (keep-alive idleness is
  still uvicorn's `timeout_keep_alive`);
- answers 431 and closes when a request's head (counted as it arrives, before the parser
  sees it) exceeds `max_head_bytes` (httptools itself sets no bound);
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
    head, and a bound on the connections open at once.

    A head runs from the connection's opening, or from the end of the previous message,
    to the parser's end of headers; every byte received in it counts towards
    `max_head_bytes` *before* it reaches the parser, and the parser is given no more than
    the bound leaves room for, so a head one byte over the bound is refused even when it
    arrives complete in one read, and a body sent in the same read as its head is not
    counted as head. When a new request begins inside a read that also held the end of
    the previous one (pipelined), that whole read counts.
    A refusal (431, or the head timeout) while an earlier response on the connection is
    still being written waits for that response to end, then closes."""

    header_timeout: ClassVar[float] = 10.0
    max_head_bytes: ClassVar[int] = 64 * 1024
    max_connections: ClassVar[int] = 1000

    _head_timer: asyncio.TimerHandle | None = None
    _in_head = False
    _head_bytes = 0
    # Which head of the connection is being read (one more at each message's end).
    _head_number = 0
    # The current read's length, and whether it has been counted in the head.
    _chunk_bytes = 0
    _chunk_counted = False
    # What to send before closing once the response being written has ended.
    _refusal: bytes | None = None

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
        self._start_head()
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # refused; closing once the response under way has ended
        room = self.max_head_bytes - self._head_bytes
        if self._in_head and len(data) > room:
            # Only what the bound leaves room for goes to the parser: a head not ended
            # within it is too large; one that ended leaves the rest (its body, the next
            # request) to be read as usual.
            head = self._head_number
            self._feed(data[: max(room, 0)], counted=True)
            if self._in_head and self._head_number == head:
                self._head_too_large()
            elif not self.transport.is_closing():
                self.data_received(data[max(room, 0) :])
            return
        self._feed(data, counted=self._in_head)
        # A head begun inside this read and still incomplete at its end.
        if self._in_head and self._head_bytes > self.max_head_bytes:
            self._head_too_large()

    def _feed(self, data: bytes, *, counted: bool) -> None:
        self._chunk_bytes, self._chunk_counted = len(data), counted
        if counted:
            self._head_bytes += len(data)
        if data:
            super().data_received(data)

    def on_message_begin(self) -> None:
        if not self._chunk_counted:
            # Begun inside a read counted as the previous message's: the read counts.
            self._in_head, self._head_bytes = True, self._chunk_bytes
            self._chunk_counted = True
        # The first request's deadline runs from the connection's opening; a later one's
        # (keep-alive, pipelined) from its first byte.
        self._arm_head_timer()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self._in_head, self._head_bytes = False, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # What follows is the next request's head.
        self._start_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._refusal is not None and not self._responding():
            self._close_with(self._refusal)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self.transport is not None:
            super().connection_lost(exc)

    def _start_head(self) -> None:
        self._in_head, self._head_bytes, self._chunk_counted = True, 0, False
        self._head_number += 1

    def _responding(self) -> bool:
        """Whether a response on this connection is still being written (the latest
        request's is the last to end)."""
        return self.cycle is not None and not self.cycle.response_complete

    def _refuse(self, answer: bytes) -> None:
        """Send `answer` and close, after the response under way if there is one."""
        self._cancel_head_timer()
        self._in_head = False
        if self._responding():
            self._refusal = answer
            self.flow.pause_reading()
        else:
            self._close_with(answer)

    def _close_with(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            if answer:
                self.transport.write(answer)
            self.transport.close()

    def _head_too_large(self) -> None:
        logger.info("connection closed: request head too large", extra={"reason": "431"})
        self._refuse(HEAD_TOO_LARGE)

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
            self._refuse(b"")


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
