"""Kinguin's rate limit: the arithmetic on a clock the test moves, then the bucket shared
through a real PostgreSQL by several limiters, as by several replicas."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from kinguin_gateway_support import most_in_any_window

from bitloot_kinguin_gateway.adapters.orm import metadata
from bitloot_kinguin_gateway.adapters.rate_limit import (
    Gcra,
    LocalLimiter,
    SharedLimiter,
    bucket_name,
    default_burst,
)
from bitloot_kinguin_gateway.migrations import VERSIONS
from bitloot_runtime.db import asyncpg_dsn, migrate
from bitloot_runtime.errors import TransientError
from bitloot_testing.proxy import through_proxy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay


async def greedy_starts(limiter: LocalLimiter, clock: Clock, calls: int) -> list[float]:
    """When each of `calls` calls, asked back to back, starts."""
    starts = []
    for _ in range(calls):
        await limiter.acquire()
        starts.append(clock.now)
    return starts


def test_a_burst_goes_at_once_then_calls_are_spaced_by_the_interval() -> None:
    gcra = Gcra(60, 5)
    tat, waits = None, []
    for _ in range(7):
        tat, wait = gcra.schedule(tat, 100.0)
        waits.append(round(wait, 9))
    interval = 60 / 56
    assert waits == [0.0] * 5 + [round(interval, 9), round(2 * interval, 9)]


def test_a_quiet_spell_refills_the_burst_and_no_more() -> None:
    gcra = Gcra(60, 2)
    tat, _ = gcra.schedule(None, 0.0)
    tat, _ = gcra.schedule(tat, 0.0)
    for _ in range(2):
        tat, wait = gcra.schedule(tat, 3600.0)
        assert wait == 0.0
    assert gcra.schedule(tat, 3600.0)[1] == pytest.approx(60 / 59)


@pytest.mark.parametrize(("per_minute", "burst"), [(60, 5), (2000, 33), (10, 10), (7, 1)])
async def test_no_60_second_window_holds_more_than_the_limit(per_minute: int, burst: int) -> None:
    clock = Clock()
    limiter = LocalLimiter(Gcra(per_minute, burst), clock=clock, sleep=clock.sleep)
    starts = await greedy_starts(limiter, clock, 5 * per_minute)
    clock.now += 3600.0  # quiet: the burst is back
    starts += await greedy_starts(limiter, clock, 2 * per_minute)
    # To the microsecond: the test clock adds up floating-point waits.
    assert most_in_any_window(starts, 60.0 - 1e-6) == per_minute
    assert most_in_any_window(starts, 0.001) == burst


async def test_a_429_holds_calls_back_for_its_delay_then_resumes_without_a_burst() -> None:
    clock = Clock()
    gcra = Gcra(60, 5)
    limiter = LocalLimiter(gcra, clock=clock, sleep=clock.sleep)
    await limiter.throttled(10.0)
    starts = await greedy_starts(limiter, clock, 3)
    assert starts == pytest.approx([10.0, 10.0 + gcra.interval, 10.0 + 2 * gcra.interval])


def test_a_429_never_brings_calls_forward() -> None:
    gcra = Gcra(60, 5)
    assert gcra.pushed_back(500.0, 0.0, 1.0) == 500.0


def test_limits_that_cannot_hold_are_refused_by_value() -> None:
    with pytest.raises(ValueError, match="Rate limit 0 per minute"):
        Gcra(0, 1)
    with pytest.raises(ValueError, match="Rate limit burst 61"):
        Gcra(60, 61)
    assert default_burst(2000) == 33
    assert default_burst(30) == 1


def test_the_bucket_is_named_by_a_hash_never_by_the_api_key() -> None:
    name = bucket_name("secret-api-key")
    assert "secret-api-key" not in name
    assert name == bucket_name("secret-api-key") != bucket_name("another-key")


# Against a real PostgreSQL: the limit is one for every limiter on the database.


@pytest.fixture
async def dsn(database_url: str) -> str:
    await migrate(database_url, metadata, [VERSIONS])
    return asyncpg_dsn(database_url)


@pytest.fixture
async def replicas(dsn: str) -> AsyncIterator[list[SharedLimiter]]:
    """Three limiters on one database and one API key, as three gateway replicas."""
    limiters = [SharedLimiter(Gcra(600, 3), dsn, bucket_name("key")) for _ in range(3)]
    yield limiters
    for limiter in limiters:
        await limiter.close()


async def starts_of(limiter: SharedLimiter, calls: int) -> list[float]:
    starts = []
    for _ in range(calls):
        await limiter.acquire()
        starts.append(time.monotonic())
    return starts


async def test_replicas_draw_from_one_bucket(replicas: list[SharedLimiter]) -> None:
    # 600 a minute (one per 0.1 s after a burst of 3): 12 calls asked at once by three
    # replicas take about 0.9 s; three separate buckets would let them through in 0.3 s.
    began = time.monotonic()
    per_replica = await asyncio.gather(*(starts_of(limiter, 4) for limiter in replicas))
    starts = sorted(start - began for starts in per_replica for start in starts)
    assert len(starts) == 12
    assert most_in_any_window(starts, 0.001) <= 3
    # Any 0.5 s holds at most the burst and five intervals (a little more for scheduling).
    assert most_in_any_window(starts, 0.5) <= 3 + 5
    assert starts[-1] >= 0.85


async def test_another_api_key_has_a_bucket_of_its_own(
    dsn: str, replicas: list[SharedLimiter]
) -> None:
    other = SharedLimiter(Gcra(600, 3), dsn, bucket_name("other key"))
    try:
        for _ in range(3):
            assert await replicas[0].acquire() == 0.0
        assert [await other.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    finally:
        await other.close()


async def test_a_429_seen_by_one_replica_holds_back_the_others(
    replicas: list[SharedLimiter],
) -> None:
    first, second, _ = replicas
    await first.throttled(1.0)
    waited = await second.acquire()
    assert 0.9 <= waited <= 1.1


async def test_a_waiting_caller_holds_no_database_connection(dsn: str) -> None:
    limiter = SharedLimiter(Gcra(60, 1), dsn, bucket_name("key"))
    try:
        await limiter.acquire()
        waiting = [asyncio.create_task(limiter.acquire()) for _ in range(5)]
        await asyncio.sleep(0.3)
        assert not any(task.done() for task in waiting)
        pool = limiter._pool
        assert pool is not None
        assert pool.get_size() - pool.get_idle_size() == 0
        for task in waiting:
            task.cancel()
    finally:
        await limiter.close()


async def test_an_unreachable_database_makes_callers_wait_never_pass(database_url: str) -> None:
    await migrate(database_url, metadata, [VERSIONS])
    async with through_proxy(asyncpg_dsn(database_url)) as (proxy, proxied):
        limiter = SharedLimiter(Gcra(600, 1), proxied, bucket_name("key"))
        try:
            await limiter.acquire()
            await proxy.down()
            waiting = asyncio.create_task(limiter.acquire())
            await asyncio.sleep(1.0)
            assert not waiting.done()
            await proxy.up()
            assert await asyncio.wait_for(waiting, 10) >= 0.0
        finally:
            await limiter.close()


async def test_a_database_away_too_long_is_a_transient_error(database_url: str) -> None:
    await migrate(database_url, metadata, [VERSIONS])
    async with through_proxy(asyncpg_dsn(database_url)) as (proxy, proxied):
        limiter = SharedLimiter(Gcra(600, 1), proxied, bucket_name("key"), unavailable_seconds=1.0)
        try:
            await proxy.down()
            with pytest.raises(TransientError, match="rate limit's database is unreachable"):
                await limiter.acquire()
        finally:
            await limiter.close()
