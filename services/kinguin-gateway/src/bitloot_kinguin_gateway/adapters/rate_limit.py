"""Kinguin's rate limit, one for every gateway replica: at most `per_minute` calls start in
any 60 seconds, in bursts of at most `burst`.

Kinguin throttles each API key (2,000 requests a minute by default) and answers 429
beyond that. Every replica of the gateway uses the same key, so the limit is kept in the
gateway's PostgreSQL database (`SharedLimiter`), not per process.

The arithmetic is GCRA (the generic cell rate algorithm, a token bucket kept as one
number), in `Gcra`: the state is the *theoretical arrival time* (TAT) of the next call.
A call is not refused but given a slot: it goes now, or after the wait `Gcra` tells it,
and the TAT moves one interval on. So each call costs one statement, however many
callers wait, and waiters are served in the order they asked, across replicas.

The interval is ``60 / (per_minute - burst + 1)`` seconds, not ``60 / per_minute``: the
burst comes out of the minute's allowance, so that no 60-second window, wherever it
starts, holds more than `per_minute` calls (a bucket refilled at ``per_minute`` a minute
would let ``per_minute + burst`` through in the minute after a burst).

A 429 from Kinguin pushes the TAT back (`throttled`): no replica starts a call before the
``Retry-After`` (or the caller's backoff) has passed, and calls resume at the steady rate,
without a burst.
"""

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from bitloot_runtime.db import is_transient
from bitloot_runtime.errors import TransientError

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
# Seconds below which a wait is rounding (epoch seconds in a double: about 0.2 µs).
ROUNDING = 1e-6


@dataclass(frozen=True)
class Gcra:
    """The pure arithmetic of a limit of `per_minute` calls in any 60 s, `burst` at once."""

    per_minute: int
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0:
            raise ValueError(f"Rate limit {self.per_minute!r} per minute. Must be positive.")
        if not 1 <= self.burst <= self.per_minute:
            raise ValueError(
                f"Rate limit burst {self.burst!r}. Must be between 1 and the limit a minute "
                f"({self.per_minute})."
            )

    @property
    def interval(self) -> float:
        """Seconds between two calls at the steady rate."""
        return 60.0 / (self.per_minute - self.burst + 1)

    def schedule(self, tat: float | None, now: float) -> tuple[float, float]:
        """One call asked at `now` with the state `tat` (None: never used): the new TAT
        and how many seconds the call must wait before it starts."""
        new_tat = max(tat if tat is not None else now, now) + self.interval
        return new_tat, self.wait(new_tat, now)

    def wait(self, new_tat: float, now: float) -> float:
        """The wait of the call that moved the TAT to `new_tat` at `now` (none below a
        microsecond: floating point's rounding, not a wait)."""
        wait = new_tat - now - self.burst * self.interval
        return wait if wait > ROUNDING else 0.0

    def pushed_back(self, tat: float | None, now: float, delay: float) -> float:
        """The TAT after Kinguin said at `now` to wait `delay` seconds: the next call
        starts no sooner than ``now + delay``, and no burst follows."""
        earliest = now + delay + (self.burst - 1) * self.interval
        return max(tat if tat is not None else earliest, earliest)


def default_burst(per_minute: int) -> int:
    """A second's worth of calls (at least one)."""
    return max(1, per_minute // 60)


class Limiter(Protocol):
    """What the Kinguin client asks of a rate limiter."""

    async def acquire(self) -> float:
        """Wait for a slot; the seconds waited."""

    async def throttled(self, delay: float) -> None:
        """Kinguin answered 429: start no call for `delay` seconds."""


class LocalLimiter:
    """The limit kept in this process only: for one gateway (tests, tools), never for
    replicas sharing an API key (see `SharedLimiter`)."""

    def __init__(
        self,
        gcra: Gcra,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._gcra = gcra
        self._clock = clock
        self._sleep = sleep
        self._tat: float | None = None

    async def acquire(self) -> float:
        self._tat, delay = self._gcra.schedule(self._tat, self._clock())
        if delay > 0:
            await self._sleep(delay)
        return delay

    async def throttled(self, delay: float) -> None:
        self._tat = self._gcra.pushed_back(self._tat, self._clock(), delay)


# One statement per call: the row is created by the first call, or moved one interval on
# from max(TAT, now). The row lock is held for this statement only (autocommit), and
# every replica reads the database's clock, never its own.
_ACQUIRE = """
INSERT INTO kinguin_rate_limits AS b (name, tat)
VALUES ($1, extract(epoch FROM clock_timestamp()) + $2)
ON CONFLICT (name) DO UPDATE
SET tat = greatest(b.tat, extract(epoch FROM clock_timestamp())) + $2
RETURNING b.tat, extract(epoch FROM clock_timestamp())::float8 AS now
"""
# After a 429: the TAT moved to at least now + $2 (never back), in one statement too.
_PUSH_BACK = """
INSERT INTO kinguin_rate_limits AS b (name, tat)
VALUES ($1, extract(epoch FROM clock_timestamp()) + $2)
ON CONFLICT (name) DO UPDATE SET tat = greatest(b.tat, excluded.tat)
"""

# How long an acquire waits for an unreachable database before it gives up (a transient
# error: the message is retried later); Kinguin is never called without a slot.
UNAVAILABLE_SECONDS = 30.0
# Retry delays while the database is unreachable: from the first to the largest, doubling.
RETRY_FIRST, RETRY_MAX = 0.1, 2.0
# A statement that takes longer than this is abandoned (and retried as above).
STATEMENT_TIMEOUT = 5.0


def bucket_name(api_key: str) -> str:
    """The bucket's row name for an API key: a hash, never the key itself."""
    return "kinguin:" + hashlib.sha256(api_key.encode()).hexdigest()[:32]


class SharedLimiter:
    """The limit kept in the gateway's database, one row per API key
    (``kinguin_rate_limits``), so that every replica draws from the same bucket.

    It holds a small pool of its own (at most two connections), never one of the unit of
    work's: a handler holds a unit of work's connection while it calls Kinguin, and
    handlers waiting for a slot must not starve each other of connections. No connection
    is held while a caller waits for its slot.

    Its connections commit with ``synchronous_commit = off``: the row lock is then held
    for the statement only, not for the WAL flush as well (about four times the
    throughput: bench/README.md). The price: a PostgreSQL crash may lose the bucket's
    last moves (at most three ``wal_writer_delay``, 600 ms by default), so the calls of
    that moment may be granted once more after the restart; Kinguin's 429, if it comes,
    holds every replica back.
    """

    def __init__(
        self,
        gcra: Gcra,
        dsn: str,
        name: str,
        *,
        sleep: Sleep = asyncio.sleep,
        unavailable_seconds: float = UNAVAILABLE_SECONDS,
    ) -> None:
        self._gcra = gcra
        self._dsn = dsn
        self._name = name
        self._sleep = sleep
        self._unavailable_seconds = unavailable_seconds
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def acquire(self) -> float:
        row = await self._execute(_ACQUIRE, self._gcra.interval)
        assert row is not None  # RETURNING one row
        delay = self._gcra.wait(row["tat"], row["now"])
        if delay > 0:
            await self._sleep(delay)
        return delay

    async def throttled(self, delay: float) -> None:
        pushed = delay + (self._gcra.burst - 1) * self._gcra.interval
        await self._execute(_PUSH_BACK, pushed)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _execute(self, statement: str, seconds: float) -> Any:
        """Run `statement` on the bucket, retrying while the database is unreachable."""
        started = time.monotonic()
        retry = RETRY_FIRST
        while True:
            try:
                pool = await self._open()
                async with pool.acquire() as connection:
                    return await connection.fetchrow(
                        statement, self._name, seconds, timeout=STATEMENT_TIMEOUT
                    )
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if time.monotonic() - started + retry > self._unavailable_seconds:
                    raise TransientError(
                        f"The Kinguin rate limit's database is unreachable: {exc!r}"
                    ) from exc
                logger.warning(
                    "kinguin rate limit unreachable; waiting",
                    extra={"delay_s": retry, "error": type(exc).__name__},
                )
            await self._sleep(retry)
            retry = min(2 * retry, RETRY_MAX)

    async def _open(self) -> "asyncpg.Pool[Any]":
        async with self._opening:
            if self._pool is None:
                # min_size 0: opening connects to nothing, so it cannot fail on its own.
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=2,
                    timeout=STATEMENT_TIMEOUT,
                    server_settings={"synchronous_commit": "off"},
                )
            return self._pool
