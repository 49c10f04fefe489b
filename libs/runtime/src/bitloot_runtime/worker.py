"""The one background loop of the services: a pass, run again and again.

A `Worker` runs its pass at once, then whenever woken (`wake()`, or a PostgreSQL NOTIFY
on its channel, heard on a connection of its own that is opened again if lost), and
`interval` seconds after the last pass at the latest (for a lost notification, and for
work that falls due with time). A pass that returns True left work due: the next runs
at once. A pass that raises is logged, and the worker waits before the next: as after any
pass (until woken, or `interval`), or, when given a `pause`, that many seconds deaf to
wake-ups (the mailer: an SMTP relay refusing is not retried per queued email). A
database away is a line a wait, never a spin: nothing wakes a worker while its LISTEN
connection is down and no commit succeeds. Cancelling
`run` abandons the pass under way (what it did not commit is still due) and closes the
connection. `health`: when a pass last succeeded, and how many failed in a row since.
"""

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from bitloot_runtime.db import is_transient
from bitloot_runtime.dead_letters import summarize

logger = logging.getLogger(__name__)

Pass = Callable[[], Awaitable[object]]


@dataclass
class WorkerHealth:
    last_success: float | None = None  # Unix time; None before the first
    failures: int = 0


def log_failure(log: logging.Logger, message: str, error: Exception) -> None:
    """The database or the broker away for a moment (a blip, a restart) is one WARNING
    line naming the error; anything else is a bug, logged with its traceback."""
    if is_transient(error):
        log.warning(message, extra={"error": summarize(error)})
    else:
        log.error(message, exc_info=error)


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
        log: Callable[[Exception], None] | None = None,
        closing: Callable[[], object] | None = None,
    ) -> None:
        """`listen`: the asyncpg DSN and the channel whose NOTIFYs wake the worker; `log`:
        how a failed pass is logged; `closing`: called once the loop ends, to close what
        the passes kept open."""
        self.name = name
        self.health = WorkerHealth()
        self._work = work
        self._interval = interval
        self._pause = pause
        self._listen = listen
        self._log = log or functools.partial(log_failure, logger, f"{name} pass failed")
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
                    self._log(exc)
                    if self._pause is not None:
                        await asyncio.sleep(self._pause)
                        continue
                    more = False
                else:
                    self.health.last_success, self.health.failures = time.time(), 0
                if more is not True:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._interval)
        finally:
            try:
                if self._closing is not None:
                    self._closing()
            finally:
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
            log_failure(logger, f"{self.name} cannot LISTEN; polling only", exc)
            return None
        return connection
