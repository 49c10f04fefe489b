"""Who goes first in the process: IPNs being answered before IPNs being applied.

NOWPayments waits for our answer; nobody waits for the payment rules. The edge marks each
IPN it is answering with `answering()`, and the processor waits for `quiet()` before it
starts on the next stored IPN, so under load the processor runs in the gaps between
answers instead of queueing ahead of them on the event loop.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class EdgeLoad:
    """The number of IPNs being answered right now, and a way to wait for none."""

    def __init__(self) -> None:
        self._answering = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextmanager
    def answering(self) -> Iterator[None]:
        self._answering += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if self._answering == 0:
                self._quiet.set()

    async def quiet(self) -> None:
        """Return once no IPN is being answered."""
        await self._quiet.wait()
