"""Processes killed with SIGKILL between two steps lose nothing and apply nothing twice.

Each test runs the widgets service as a real child process (crash_child.py) that dies
right after one step succeeded, then restarts it and checks the end state on the real
PostgreSQL and RabbitMQ.
"""

import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from runtime_support import WIDGET_MADE, child_env, publish_raw, queue_depth, widget_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_runtime.db import create_engine
from bitloot_runtime.tables import inbox, outbox
from bitloot_runtime.topology import Topology
from bitloot_testing.bus import eventually, spy_on
from bitloot_testing.rabbitmq import BusNamespace

CHILD = Path(__file__).parent / "crash_child.py"
pytestmark = pytest.mark.slow


@pytest.fixture
def env(database_url: str, bus_prefix: BusNamespace) -> dict[str, str]:
    return {
        **child_env(database_url, bus_prefix, (0.2, 0.5), {"widgets": (WIDGET_MADE,)}),
        "WIDGETS_OUTBOX_POLL_INTERVAL": "0.2",
    }


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, max_connections=2)
    yield engine
    await engine.dispose()


def run_until_killed(mode: str, env: dict[str, str]) -> str:
    """Run a child that must die by SIGKILL; its standard output."""
    result = subprocess.run(
        [sys.executable, str(CHILD), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == -9, result.stderr
    return result.stdout


@dataclass
class Child:
    """A running child process and the log lines it has written so far."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    async def logged(self, text: str) -> bool:
        return await eventually(lambda: _contains(self.lines, text), timeout=30)


async def _contains(lines: list[str], text: str) -> bool:
    return any(text in line for line in lines)


@contextmanager
def child(mode: str, env: dict[str, str]) -> Iterator[Child]:
    """A child process, started and killed around the block, its log read as it comes."""
    process = subprocess.Popen(
        [sys.executable, str(CHILD), mode],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = Child(process)
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: running.lines.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started", "child did not start"
        yield running
    finally:
        process.kill()
        process.wait(timeout=10)


async def count(engine: AsyncEngine, query: object) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(query))  # type: ignore[call-overload]


async def names(engine: AsyncEngine) -> list[str]:
    from runtime_support import widget_names

    return sorted(await widget_names(engine))


async def test_event_committed_before_a_crash_is_published_once_after_restart(
    env: dict[str, str], engine: AsyncEngine, bus_prefix: BusNamespace
) -> None:
    exchange = Topology(bus_prefix.prefix).exchange.name
    async with spy_on(bus_prefix.amqp_url, bus_prefix.prefix, exchange) as spy:
        event_id = run_until_killed("commit-then-die", env).strip()
        assert await spy.collect(expected=0, timeout=1.0) == []
        with child("serve", env):
            messages = await spy.collect(expected=1, timeout=30.0)
            assert await eventually(lambda: _names_are(engine, ["crash", "handled:crash"]))
    assert [m.message_id for m in messages] == [event_id]
    assert messages[0].routing_key == WIDGET_MADE
    unpublished = select(func.count()).where(outbox.c.published_at.is_(None))
    assert await count(engine, unpublished) == 0


async def test_relay_killed_after_the_confirm_publishes_again_and_the_effect_happens_once(
    env: dict[str, str], engine: AsyncEngine, bus_prefix: BusNamespace
) -> None:
    exchange = Topology(bus_prefix.prefix).exchange.name
    async with spy_on(bus_prefix.amqp_url, bus_prefix.prefix, exchange) as spy:
        event_id = run_until_killed("publish-then-die", env).splitlines()[0]
        unpublished = select(func.count()).where(outbox.c.published_at.is_(None))
        assert await count(engine, unpublished) == 1  # confirmed, but never marked
        with child("serve", env):
            messages = await spy.collect(expected=2, timeout=30.0)
            assert await eventually(lambda: _names_are(engine, ["crash", "handled:crash"]))
            assert await eventually(lambda: _queue_empty(bus_prefix, env))
        assert await count(engine, unpublished) == 0
    # At least once on the bus (the same event id twice), exactly once in effect.
    assert [m.message_id for m in messages] == [event_id, event_id]
    assert await names(engine) == ["crash", "handled:crash"]


async def test_consumer_killed_after_commit_before_ack_gets_it_again_with_no_second_effect(
    env: dict[str, str], engine: AsyncEngine, bus_prefix: BusNamespace
) -> None:
    event = widget_event("once")
    queue = Topology(bus_prefix.prefix).queue_name("widgets", WIDGET_MADE)
    with child("consume-then-die", env) as dying:
        await publish_raw(
            bus_prefix.amqp_url,
            Topology(bus_prefix.prefix).exchange.name,
            WIDGET_MADE,
            event.model_dump_json().encode(),
            message_id=str(event.event_id),
        )
        assert dying.process.wait(timeout=30) == -9
    assert await names(engine) == ["handled:once"]
    assert await queue_depth(bus_prefix.amqp_url, queue) == 1  # never acked: back in the queue

    with child("serve", env) as restarted:
        assert await restarted.logged("duplicate message ignored")
        assert await eventually(lambda: _queue_empty(bus_prefix, env))
    assert await names(engine) == ["handled:once"]
    assert await count(engine, select(func.count()).select_from(inbox)) == 1


async def _names_are(engine: AsyncEngine, expected: list[str]) -> bool:
    return await names(engine) == expected


async def _queue_empty(bus: BusNamespace, env: dict[str, str]) -> bool:
    queue = Topology(env["WIDGETS_BUS_PREFIX"]).queue_name("widgets", WIDGET_MADE)
    return await queue_depth(bus.amqp_url, queue) == 0
