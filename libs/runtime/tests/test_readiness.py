"""`/readyz` of a running service on real PostgreSQL and RabbitMQ says not ready, with
the reason, while the broker blocks publishing (a resource alarm) and while the outbox
lags past its threshold; ready again once that passes."""

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx
import pytest
from runtime_support import WIDGET_MADE, make_widget, on_bus
from sqlalchemy import func, insert, select
from starlette.applications import Starlette

from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tables import outbox
from bitloot_testing.asgi import asgi_client
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

# Raised and cleared by hand, so the node's configured watermark is never touched and
# the alarm lasts only as long as the test holds it (other test runs share the broker).
# The node clears it by itself after 15 s too, should this test die before its `finally`.
_ALARM = "{resource_limit, memory, node()}"
_CLEAR_ALARM = f"rabbit_alarm:clear_alarm({_ALARM})."
_RAISE_ALARM = (
    f"rabbit_alarm:set_alarm({{{_ALARM}, []}}), "
    f"timer:apply_after(15000, rabbit_alarm, clear_alarm, [{_ALARM}])."
)


async def readyz(runtime: ServiceRuntime) -> httpx.Response:
    app = Starlette(routes=runtime.health_routes())
    async with asgi_client(app) as http:
        return await http.get("/readyz")


async def _rabbitmqctl(expression: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "eval", expression, stdout=asyncio.subprocess.DEVNULL
    )
    assert await asyncio.wait_for(process.wait(), 30) == 0, expression


def _local(amqp_url: str) -> bool:
    """Whether the broker under test is this machine's node, the one rabbitmqctl reaches."""
    return urlsplit(amqp_url).hostname in {"127.0.0.1", "localhost", "::1"}


@asynccontextmanager
async def memory_alarm(amqp_url: str) -> AsyncIterator[None]:
    """The local RabbitMQ node in a memory alarm, as when it runs out of memory: it holds
    every publish until the alarm clears, and sends ``connection.blocked`` to each
    connection as it first publishes."""
    if shutil.which("rabbitmqctl") is None or os.geteuid() != 0 or not _local(amqp_url):
        pytest.skip("raising a broker alarm needs rabbitmqctl, as root, on the broker's machine")
    await _rabbitmqctl(_RAISE_ALARM)
    try:
        yield
    finally:
        await _rabbitmqctl(_CLEAR_ALARM)


async def test_readyz_is_503_blocked_while_the_broker_blocks_publishing(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    async with on_bus(database_url, bus_prefix) as runtime:
        assert (await readyz(runtime)).status_code == 200
        async with memory_alarm(bus_prefix.amqp_url):
            # RabbitMQ blocks a connection (and says so) at its first publish in the alarm.
            async with runtime.unit_of_work() as uow:
                await make_widget(uow, uuid4(), "in the alarm")
                await uow.commit()
            assert await eventually(lambda: _broker_says(runtime, "blocked"), timeout=5)
            answer = await readyz(runtime)
        assert answer.status_code == 503
        assert answer.json()["checks"] == {"database": "ok", "broker": "blocked", "outbox": "ok"}
        assert await eventually(lambda: _broker_says(runtime, "ok"), timeout=5)
        assert (await readyz(runtime)).status_code == 200


async def _broker_says(runtime: ServiceRuntime, state: str) -> bool:
    return bool((await readyz(runtime)).json()["checks"]["broker"] == state)


async def test_readyz_is_503_lagging_while_a_due_event_waits_past_the_threshold(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    async with on_bus(database_url, bus_prefix, outbox_ready_lag_seconds=30) as runtime:
        assert (await readyz(runtime)).status_code == 200
        event_id = await _outbox_row(runtime, due=timedelta(seconds=-45))
        # Locked as by a relay hung in its publish: this one skips it, and it stays due.
        async with runtime.engine.connect() as holder, holder.begin():
            await holder.execute(
                select(outbox.c.id).where(outbox.c.event_id == event_id).with_for_update()
            )
            answer = await readyz(runtime)
        assert answer.status_code == 503
        checks = answer.json()["checks"]
        assert (checks["database"], checks["broker"]) == ("ok", "ok")
        assert checks["outbox"].startswith("lagging: an event due 4")
        assert await eventually(lambda: _ready(runtime), timeout=5)  # published once free


async def test_a_postponed_event_does_not_make_the_service_unready(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    """A row whose publish failed waits out its backoff; an outage that has ended, or one
    poison row, must not keep every instance out of the load balancer meanwhile."""
    async with on_bus(database_url, bus_prefix, outbox_ready_lag_seconds=30) as runtime:
        await _outbox_row(runtime, due=timedelta(hours=1))
        assert await _ready(runtime)


async def _ready(runtime: ServiceRuntime) -> bool:
    return (await readyz(runtime)).status_code == 200


async def _outbox_row(runtime: ServiceRuntime, due: timedelta) -> UUID:
    """An event committed 45 s ago and due for publishing `due` from now."""
    event_id = uuid4()
    async with runtime.engine.begin() as connection:
        await connection.execute(
            insert(outbox).values(
                event_id=event_id,
                topic=WIDGET_MADE,
                order_id=uuid4(),
                body=b"{}",
                headers={},
                created_at=func.now() - timedelta(seconds=45),
                next_attempt_at=func.now() + due,
            )
        )
    return event_id
