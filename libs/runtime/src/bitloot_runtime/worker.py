"""The one background loop of the services: a pass, run again and again.

A `Worker` runs its pass at once, then each time it is woken (`wake()` in the process,
or a PostgreSQL NOTIFY on its channel, heard on a connection of its own, opened again
whenever it is lost), and at the latest `interval` seconds after the last pass: the
fallback for a lost notification and for work that falls due with time. A pass that
returns True left work due (a full batch): the next runs at once.

A pass that raises is logged and the worker pauses `pause` seconds (its interval unless
told) before the next, deaf to wake-ups meanwhile: a database or a provider away is a
line a pause, never a spin. Cancelling `run` (the runtime's stop) abandons the pass
under way at its next await (each pass commits what it finished; what it did not is
still due) and closes the listening connection.

`health` says when a pass last succeeded and how many failed in a row since, for the
metrics and whoever judges the service's readiness.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from bitloot_runtime.dead_letters import summarize

logger = logging.getLogger(__name__)

Pass = Callable[[], Awaitable[object]]


@dataclass
class WorkerHealth:
    """`last_success`: when a pass last succeeded (Unix time), None before the first;
    `failures`: the passes failed in a row since."""

    last_success: float | None = None
    failures: int = 0


def logs_error(log: logging.Logger, message: str) -> Callable[[Exception], None]:
    """A `log_failure` writing `message` to `log` as an ERROR, with the traceback."""
    return lambda error: log.error(message, exc_info=error)


class Worker:
    """Runs `work` now, when woken, and every `interval` seconds, until cancelled."""

    def __init__(
        self,
        name: str,
        work: Pass,
        *,
        interval: float,
        pause: float | None = None,
        listen: tuple[str, str] | None = None,
        log_failure: Callable[[Exception], None] | None = None,
        closing: Callable[[], object] | None = None,
    ) -> None:
        """`listen`: the asyncpg DSN and the channel whose NOTIFYs wake the worker.
        `log_failure`: how a failed pass is logged (by default an ERROR with its
        traceback, naming the worker). `closing`: called once the loop ends, to let go
        of what the passes kept open."""
        self.name = name
        self.health = WorkerHealth()
        self._work = work
        self._interval = interval
        self._pause = interval if pause is None else pause
        self._listen = listen
        self._log_failure = log_failure or logs_error(logger, f"{name} pass failed; pausing")
        self._closing = closing
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Run the next pass now (or once the pass under way ends)."""
        self._wake.set()

    async def run(self) -> None:
        """Pass after pass until cancelled."""
        listener: asyncpg.Connection | None = None
        try:
            while True:
                listener = await self._listening(listener)
                self._wake.clear()
                try:
                    more = await self._work()
                except Exception as exc:
                    self.health.failures += 1
                    self._log_failure(exc)
                    await asyncio.sleep(self._pause)
                    continue
                self.health.last_success, self.health.failures = time.time(), 0
                if more is not True:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._interval)
        finally:
            if self._closing is not None:
                self._closing()
            if listener is not None and not listener.is_closed():
                await listener.close()

    async def _listening(self, listener: asyncpg.Connection | None) -> asyncpg.Connection | None:
        if self._listen is None or (listener is not None and not listener.is_closed()):
            return listener
        dsn, channel = self._listen
        connection: asyncpg.Connection | None = None
        try:
            connection = await asyncpg.connect(dsn)
            await connection.add_listener(channel, lambda *_: self._wake.set())
        except BaseException as exc:
            if connection is not None:
                await connection.close()
            if not isinstance(exc, Exception):
                raise
            logger.warning(
                "cannot LISTEN; polling only",
                extra={"loop": self.name, "channel": channel, "error": summarize(exc)},
            )
            return None
        return connection
