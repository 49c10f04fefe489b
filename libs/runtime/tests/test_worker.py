"""The one worker loop, on a real PostgreSQL: woken by NOTIFY at once, polling when not,
pausing after a failed pass and going on, stopping without leaving its LISTEN
connection behind, and saying how it fares."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from runtime_support import settings_for, widget_runtime

from bitloot_runtime.db import asyncpg_dsn
from bitloot_runtime.worker import Worker
from bitloot_testing.bus import eventually


class Passes:
    """A pass that records when it ran, raising while told to, stuck while `hold` is."""

    def __init__(self, failing: int = 0, more: int = 0) -> None:
        self.at: list[float] = []
        self.failing, self.more = failing, more
        self.ran = asyncio.Event()
        self.hold: asyncio.Event | None = None

    async def __call__(self) -> bool:
        self.at.append(time.monotonic())
        self.ran.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.failing:
            self.failing -= 1
            raise ConnectionError("database went away")
        self.more -= 1
        return self.more >= 0

    async def next(self, timeout: float = 5) -> float:
        """Wait for the next pass; how long it took to come."""
        started = time.monotonic()
        self.ran.clear()
        await asyncio.wait_for(self.ran.wait(), timeout)
        return time.monotonic() - started


@pytest.fixture
def channel() -> str:
    return f"worker_{uuid4().hex}"


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
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


async def listeners(admin: asyncpg.Connection, channel: str) -> list[int]:
    """The backends listening on `channel` (asyncpg's LISTEN is their last statement)."""
    query = "SELECT pid FROM pg_stat_activity WHERE query = $1"
    return [row["pid"] for row in await admin.fetch(query, f'LISTEN "{channel}"')]


async def test_a_notify_wakes_the_worker_at_once_even_after_its_connection_was_lost(
    database_url: str, admin: asyncpg.Connection, channel: str
) -> None:
    passes = Passes()
    worker = Worker("test", passes, interval=3600, listen=(asyncpg_dsn(database_url), channel))
    async with running(worker):
        await passes.next()  # the first pass, at once; it listens by then
        for _ in range(2):
            waiting = asyncio.create_task(passes.next())
            await asyncio.sleep(0.2)
            await admin.execute(f'NOTIFY "{channel}"')
            assert await waiting < 2
            # The listening backend ends (a database restart): the next pass listens again.
            [first] = await listeners(admin, channel)
            await admin.execute("SELECT pg_terminate_backend($1)", first)
            await asyncio.sleep(0.2)  # for the worker's connection to see it is lost
            worker.wake()

            async def listening_again(first: int = first) -> bool:
                return [first] != await listeners(admin, channel) != []

            assert await eventually(listening_again, timeout=5)


async def test_without_a_notify_the_worker_polls_every_interval(
    database_url: str, channel: str
) -> None:
    passes = Passes()
    worker = Worker("test", passes, interval=0.1, listen=(asyncpg_dsn(database_url), channel))
    async with running(worker):
        await asyncio.sleep(1.0)
    assert 4 <= len(passes.at) <= 11


async def test_wake_runs_the_next_pass_now_and_more_due_runs_it_at_once() -> None:
    passes = Passes(more=4)
    worker = Worker("test", passes, interval=3600)
    async with running(worker):
        await asyncio.sleep(0.3)
        assert len(passes.at) == 5  # four passes saying more is due, then one more
        waiting = asyncio.create_task(passes.next())
        await asyncio.sleep(0.1)
        worker.wake()
        assert await waiting < 1


async def test_a_failing_pass_is_logged_the_worker_pauses_deaf_to_wake_ups_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    passes = Passes(failing=2)
    worker = Worker("test", passes, interval=3600, pause=0.5)
    with caplog.at_level(logging.INFO, logger="bitloot_runtime.worker"):
        async with running(worker) as task:
            await passes.next()
            assert (worker.health.failures, worker.health.last_success) == (1, None)
            worker.wake()  # a wake-up does not cut the pause short
            assert await passes.next() >= 0.45
            assert worker.health.failures == 2
            assert await passes.next() >= 0.45
            await asyncio.sleep(0.05)
            assert not task.done()
            assert worker.health.failures == 0
            assert time.time() - (worker.health.last_success or 0) < 5
    assert len(passes.at) == 3
    # The database away is a warning naming the error, without a traceback.
    logged = [
        (r.levelname, r.getMessage(), getattr(r, "error", None), r.exc_info) for r in caplog.records
    ]
    assert (
        logged == [("WARNING", "test pass failed", "ConnectionError: database went away", None)] * 2
    )


async def test_without_a_pause_a_failed_pass_waits_as_any_pass_and_a_wake_up_retries_it() -> None:
    """The relay, the IPN processor and the payout runner: an event committed just after a
    failed pass (the database back) is published at once, not after a poll interval."""
    passes = Passes(failing=1)
    worker = Worker("test", passes, interval=3600, log=lambda _error: None)
    async with running(worker):
        await passes.next()
        assert worker.health.failures == 1
        waiting = asyncio.create_task(passes.next())
        await asyncio.sleep(0.2)
        assert not waiting.done()  # no spin: it waits to be woken (or the interval)
        worker.wake()
        assert await waiting < 1
        await asyncio.sleep(0.05)
        assert worker.health.failures == 0


async def test_a_failure_is_logged_as_told() -> None:
    passes = Passes(failing=1000)
    logged: list[Exception] = []
    async with running(Worker("test", passes, interval=3600, pause=0.01, log=logged.append)):
        await asyncio.sleep(0.3)
    assert len(passes.at) == len(logged) > 3
    assert all(isinstance(error, ConnectionError) for error in logged)


async def test_a_stopped_worker_leaves_no_listen_connection_and_closes_what_it_kept(
    database_url: str, admin: asyncpg.Connection, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[asyncpg.Connection] = []
    connect = asyncpg.connect

    async def kept(*args: Any, **kwargs: Any) -> asyncpg.Connection:
        # Held here, a connection the worker leaked is not closed by the garbage collector.
        opened.append(await connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr("bitloot_runtime.worker.asyncpg.connect", kept)
    passes, closed = Passes(), list[bool]()
    passes.hold = asyncio.Event()
    dsn = asyncpg_dsn(database_url)
    worker = Worker(
        "test", passes, interval=3600, listen=(dsn, channel), closing=lambda: closed.append(True)
    )
    async with running(worker) as task:
        await passes.next()
        assert len(await listeners(admin, channel)) == 1
    # Stopped in the middle of a pass: the pass is abandoned, the connection closed.
    assert task.cancelled()
    assert closed == [True]
    assert [connection.is_closed() for connection in opened] == [True]

    async def gone() -> bool:
        return not await listeners(admin, channel)

    assert await eventually(gone, timeout=5)


async def test_a_worker_that_cannot_listen_polls_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    passes = Passes()
    nowhere = "postgresql://postgres@127.0.0.1:1/postgres"  # the connection is refused
    worker = Worker("test", passes, interval=0.1, listen=(nowhere, "worker_nowhere"))
    with caplog.at_level(logging.WARNING, logger="bitloot_runtime.worker"):
        async with running(worker):
            await asyncio.sleep(1.0)
    assert len(passes.at) >= 4
    assert worker.health.failures == 0
    said = {r.getMessage() for r in caplog.records if r.name == "bitloot_runtime.worker"}
    assert said == {"test cannot LISTEN; polling only"}


async def test_the_runtime_exports_the_health_of_each_of_its_workers(database_url: str) -> None:
    settings = settings_for(database_url, "amqp://guest:guest@127.0.0.1:1/", "unused")
    runtime = widget_runtime(settings)
    worker = Worker("sweeper", Passes(), interval=1)
    runtime.add_worker(worker)
    worker.health.failures, worker.health.last_success = 3, 1234.5
    runtime.refresh_pool_gauges()
    found = {
        (sample.name.removeprefix("bitloot_worker_"), sample.labels["loop"]): sample.value
        for family in text_string_to_metric_families(runtime.metrics.render()[0].decode())
        for sample in family.samples
        if sample.name.startswith("bitloot_worker_")
    }
    success = "last_success_timestamp_seconds"
    assert found == {
        ("failures", "sweeper"): 3,
        (success, "sweeper"): 1234.5,
        # The runtime's own: the outbox relay and the idempotency key sweep, not run yet.
        ("failures", "relay"): 0,
        (success, "relay"): 0,
        ("failures", "idempotency-sweep"): 0,
        (success, "idempotency-sweep"): 0,
    }
    await runtime.engine.dispose()
