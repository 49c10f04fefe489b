"""Who goes first in the process: IPNs being answered before IPNs being applied.

NOWPayments waits for our answer; nobody waits for the payment rules. The edge marks each
IPN it is answering with `answering()`, and the processor waits for `quiet()` before it
starts on the next batch of stored IPNs, so under load the processor runs in the gaps
between answers instead of queueing ahead of them on the event loop.

"Quiet" is fewer than `busy_at` IPNs being answered (by default: none). An IPN is being
answered while it waits for its INSERT to commit too (milliseconds of disk, no CPU), so at
a steady 200 IPNs a second one or two are nearly always in flight: a processor waiting for
none would fall behind without limit while the CPU idles. Many in flight at once is what
an edge short of CPU looks like (in flight = rate x latency); then the processor gives way,
for at most `at_most` seconds at a time, so that it is never starved for good.
"""

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager


class EdgeLoad:
    """The number of IPNs being answered right now, and a way to wait for fewer than
    `busy_at`."""

    def __init__(self, busy_at: int = 1) -> None:
        self._answering = 0
        self._busy_at = busy_at
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextmanager
    def answering(self) -> Iterator[None]:
        self._answering += 1
        if self._answering >= self._busy_at:
            self._quiet.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if self._answering < self._busy_at:
                self._quiet.set()

    async def quiet(self, at_most: float | None = None) -> None:
        """Return once fewer than `busy_at` IPNs are being answered, or after `at_most`
        seconds."""
        if self._quiet.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), at_most)
