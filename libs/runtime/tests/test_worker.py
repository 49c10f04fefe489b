"""The one worker loop, on a real PostgreSQL: woken by NOTIFY at once, polling when not,
pausing after a failed pass and going on, stopping without leaving its LISTEN
connection behind, and saying how it fares."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from runtime_support import settings_for, widget_runtime

from bitloot_runtime.db import asyncpg_dsn
from bitloot_runtime.worker import Worker


class Passes:
    """A pass that records when it ran, raising while told to."""

    def __init__(self, failing: int = 0) -> None:
        self.at: list[float] = []
        self.failing = failing
        self.ran = asyncio.Event()

    async def __call__(self) -> None:
        self.at.append(time.monotonic())
        self.ran.set()
        if self.failing:
            self.failing -= 1
            raise ConnectionError("database went away")

    async def next(self, timeout: float) -> float:
        """Wait for the next pass; how long it took to come."""
        started = time.monotonic()
        self.ran.clear()
        await asyncio.wait_for(self.ran.wait(), timeout)
        return time.monotonic() - started


@pytest.fixture
async def dsn(database_url: str) -> str:
    return asyncpg_dsn(database_url)


@pytest.fixture
def channel() -> str:
    return f"worker_{uuid4().hex}"


@pytest.fixture
async def admin(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn)
    yield connection
    await connection.close()


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(worker.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Callable[[], Awaitable[list[int]]]) -> list[int]:
    """What `check` answers once it answers something non-empty (within 5 s), or []."""
    for _ in range(100):
        if found := await check():
            return found
        await asyncio.sleep(0.05)
    return []


async def listeners(admin: asyncpg.Connection, channel: str) -> list[int]:
    """The backends listening on `channel` (asyncpg's LISTEN is their last statement)."""
    rows = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE query = $1", f'LISTEN "{channel}"'
    )
    return [row["pid"] for row in rows]


async def test_a_notify_wakes_the_worker_long_before_its_interval(
    dsn: str, admin: asyncpg.Connection, channel: str
) -> None:
    passes = Passes()
    worker = Worker("test", passes, interval=3600, listen=(dsn, channel))
    async with running(worker):
        await passes.next(timeout=5)  # the first pass, at once; it listens by then
        waiting = asyncio.create_task(passes.next(timeout=5))
        await asyncio.sleep(0.2)
        await admin.execute(f'NOTIFY "{channel}"')
        assert await waiting < 2
    assert len(passes.at) == 2


async def test_without_a_notify_the_worker_polls_every_interval(dsn: str, channel: str) -> None:
    passes = Passes()
    worker = Worker("test", passes, interval=0.1, listen=(dsn, channel))
    async with running(worker):
        await asyncio.sleep(1.0)
    assert 4 <= len(passes.at) <= 11


async def test_a_pass_that_says_more_is_due_is_followed_at_once() -> None:
    left = 5

    async def batch() -> bool:
        nonlocal left
        left -= 1
        return left > 0

    async with running(Worker("test", batch, interval=3600)):
        await asyncio.sleep(0.2)
    assert left == 0


async def test_wake_runs_the_next_pass_now() -> None:
    passes = Passes()
    worker = Worker("test", passes, interval=3600)
    async with running(worker):
        await passes.next(timeout=5)
        waiting = asyncio.create_task(passes.next(timeout=5))
        await asyncio.sleep(0.1)
        worker.wake()
        assert await waiting < 1


async def test_a_failing_pass_is_logged_paused_after_deaf_to_wake_ups_and_the_worker_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    passes = Passes(failing=2)
    worker = Worker("test", passes, interval=3600, pause=0.5)
    with caplog.at_level(logging.ERROR, logger="bitloot_runtime.worker"):
        async with running(worker) as task:
            await passes.next(timeout=5)
            assert (worker.health.failures, worker.health.last_success) == (1, None)
            worker.wake()  # a wake-up does not cut the pause short
            assert await passes.next(timeout=5) >= 0.45
            assert await passes.next(timeout=5) >= 0.45
            await asyncio.sleep(0.05)
            assert not task.done()
            assert worker.health.failures == 0
            assert worker.health.last_success is not None
            assert time.time() - worker.health.last_success < 5
    assert len(passes.at) == 3
    failed = [r for r in caplog.records if r.name == "bitloot_runtime.worker"]
    assert [(r.getMessage(), r.exc_info is not None) for r in failed] == [
        ("test pass failed; pausing", True)
    ] * 2


async def test_failures_are_counted_in_a_row_and_logged_as_told() -> None:
    passes = Passes(failing=1000)
    logged: list[Exception] = []
    worker = Worker("test", passes, interval=3600, pause=0.01, log_failure=logged.append)
    async with running(worker):
        await asyncio.sleep(0.3)
    assert worker.health.failures == len(passes.at) == len(logged) > 3
    assert worker.health.last_success is None
    assert all(isinstance(error, ConnectionError) for error in logged)


async def test_a_stopped_worker_leaves_no_listen_connection_and_closes_what_it_kept(
    dsn: str, admin: asyncpg.Connection, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[asyncpg.Connection] = []
    connect = asyncpg.connect

    async def kept(*args: Any, **kwargs: Any) -> asyncpg.Connection:
        # Held here, a connection the worker leaked is not closed by the garbage collector.
        opened.append(await connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr("bitloot_runtime.worker.asyncpg.connect", kept)
    hold = asyncio.Event()
    started = asyncio.Event()
    closed: list[bool] = []

    async def stuck() -> None:
        started.set()
        await hold.wait()

    worker = Worker(
        "test", stuck, interval=3600, listen=(dsn, channel), closing=lambda: closed.append(True)
    )
    async with running(worker) as task:
        await asyncio.wait_for(started.wait(), 5)
        assert len(await listeners(admin, channel)) == 1
    # Stopped in the middle of a pass: the pass is abandoned, the connection closed.
    assert task.cancelled()
    assert closed == [True]
    assert [connection.is_closed() for connection in opened] == [True]

    async def still_listening() -> list[int]:
        found = await listeners(admin, channel)
        return [] if found else [0]

    assert await until(still_listening) == [0]


async def test_a_lost_listen_connection_is_opened_again(
    dsn: str, admin: asyncpg.Connection, channel: str
) -> None:
    """The listening backend is ended (a database restart, say): the next pass listens
    again, and a NOTIFY wakes the worker as before."""
    passes = Passes()
    worker = Worker("test", passes, interval=3600, listen=(dsn, channel))
    async with running(worker):
        await asyncio.wait_for(passes.ran.wait(), 5)
        [first] = await listeners(admin, channel)
        await admin.execute("SELECT pg_terminate_backend($1)", first)

        async def others() -> list[int]:
            return [pid for pid in await listeners(admin, channel) if pid != first]

        await asyncio.sleep(0.2)
        worker.wake()
        assert len(await until(others)) == 1
        waiting = asyncio.create_task(passes.next(timeout=5))
        await asyncio.sleep(0.2)
        await admin.execute(f'NOTIFY "{channel}"')
        assert await waiting < 2


async def test_a_worker_that_cannot_listen_polls_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    passes = Passes()
    # Nothing listens on port 1: the connection is refused.
    nowhere = "postgresql://postgres@127.0.0.1:1/postgres"
    worker = Worker("test", passes, interval=0.1, listen=(nowhere, "worker_nowhere"))
    with caplog.at_level(logging.WARNING, logger="bitloot_runtime.worker"):
        async with running(worker):
            await asyncio.sleep(1.0)
    assert len(passes.at) >= 4
    assert worker.health.failures == 0
    said = {r.getMessage() for r in caplog.records if r.name == "bitloot_runtime.worker"}
    assert said == {"cannot LISTEN; polling only"}


async def test_the_runtime_exports_the_health_of_each_of_its_workers(database_url: str) -> None:
    settings = settings_for(database_url, "amqp://guest:guest@127.0.0.1:1/", "unused")
    runtime = widget_runtime(settings)
    worker = Worker("sweeper", Passes(), interval=1)
    runtime.add_worker(worker)
    worker.health.failures, worker.health.last_success = 3, 1234.5
    runtime.refresh_pool_gauges()
    text = runtime.metrics.render()[0].decode()
    found = {
        (sample.name, sample.labels["loop"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("bitloot_worker_")
    }
    assert found == {
        ("bitloot_worker_failures", "sweeper"): 3,
        ("bitloot_worker_last_success_timestamp_seconds", "sweeper"): 1234.5,
        # The runtime's own: the outbox relay and the idempotency key sweep, not run yet.
        ("bitloot_worker_failures", "relay"): 0,
        ("bitloot_worker_last_success_timestamp_seconds", "relay"): 0,
        ("bitloot_worker_failures", "idempotency-sweep"): 0,
        ("bitloot_worker_last_success_timestamp_seconds", "idempotency-sweep"): 0,
    }
    await runtime.engine.dispose()
