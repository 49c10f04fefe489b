"""A token bucket: at most `per_minute` calls a minute, in bursts of at most `burst`.

Kinguin throttles each API key (2,000 requests a minute by default) and answers 429
beyond that; spacing our own calls keeps every consumer of the key under the limit
instead of discovering it through refusals.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """Hands out one token per call; `acquire` waits while the bucket is empty."""

    def __init__(
        self,
        per_minute: int,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"Rate limit {per_minute!r} per minute. Must be positive.")
        self._rate = per_minute / 60.0
        self._capacity = float(burst if burst is not None else max(1, per_minute // 60))
        self._tokens = self._capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        """Take one token, waiting until one is available; the seconds waited."""
        waited = 0.0
        # One caller at a time: waiters are served in arrival order, none starves.
        async with self._lock:
            self._refill()
            if self._tokens < 1.0:
                delay = (1.0 - self._tokens) / self._rate
                await self._sleep(delay)
                waited = delay
                self._refill()
            self._tokens = max(self._tokens - 1.0, 0.0)
        return waited

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
