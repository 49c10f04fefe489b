"""Invariant 1 (transactional outbox) against real PostgreSQL and RabbitMQ."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Literal
from uuid import uuid4

import asyncpg
import pytest
from runtime_support import (
    WIDGET_MADE,
    WidgetMade,
    create_widgets_table,
    make_widget,
    metadata,
    widget_event,
    widget_names,
)
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bitloot_contracts.events import Event
from bitloot_runtime.db import OUTBOX_CHANNEL, UnitOfWork, asyncpg_dsn, create_engine, migrate
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.outbox import OutboxRelay
from bitloot_runtime.publisher import BusPublisher, create_broker
from bitloot_runtime.tables import outbox
from bitloot_runtime.topology import Topology, declare_topology
from bitloot_testing.bus import spy_on
from bitloot_testing.proxy import through_proxy
from bitloot_testing.rabbitmq import BusNamespace


class Unheard(Event):
    topic: ClassVar[str] = "nobody.listens"
    schema_version: Literal[1] = 1


@dataclass
class Parts:
    """A migrated database, a declared bus and a publisher, with no relay running."""

    engine: AsyncEngine
    publisher: BusPublisher
    metrics: RuntimeMetrics
    topology: Topology
    database_url: str

    def relay(self, **options: Any) -> OutboxRelay:
        return OutboxRelay(
            engine=self.engine,
            database_url=self.database_url,
            publisher=self.publisher,
            metrics=self.metrics,
            **options,
        )


@pytest.fixture
async def parts(database_url: str, bus_prefix: BusNamespace) -> AsyncIterator[Parts]:
    await migrate(database_url, metadata, [])
    engine = create_engine(database_url)
    await create_widgets_table(engine)
    topology = Topology(bus_prefix.prefix)
    for name in topology.names("widgets", (), {"widgets": (WIDGET_MADE,)}):
        bus_prefix.track_queue(name)
        bus_prefix.track_exchange(name)
    broker = create_broker(bus_prefix.amqp_url, prefetch=10)
    await broker.connect()
    await declare_topology(broker, topology, "widgets", (), {"widgets": (WIDGET_MADE,)})
    metrics = RuntimeMetrics("widgets")
    yield Parts(engine, BusPublisher(broker, topology, metrics), metrics, topology, database_url)
    await broker.stop()
    await engine.dispose()


async def commit_widgets(engine: AsyncEngine, count: int) -> None:
    sessionmaker = async_sessionmaker(engine)
    for index in range(count):
        async with UnitOfWork(sessionmaker) as uow:
            event = widget_event(f"w{index}")
            await make_widget(uow, event.order_id, event.name)
            await uow.commit()


async def test_rolled_back_transaction_publishes_nothing(parts: Parts) -> None:
    async with UnitOfWork(async_sessionmaker(parts.engine)) as uow:
        event = widget_event()
        await make_widget(uow, event.order_id, event.name)
        # leaving without commit: the state change and its event go together
    assert await widget_names(parts.engine) == []
    assert await parts.relay().relay_once() == 0


async def test_two_relays_never_publish_the_same_row(
    parts: Parts, bus_prefix: BusNamespace
) -> None:
    await commit_widgets(parts.engine, 120)
    other_engine = create_engine(parts.database_url)
    first = parts.relay(batch_size=7)
    second = OutboxRelay(
        engine=other_engine,
        database_url=parts.database_url,
        publisher=parts.publisher,
        metrics=parts.metrics,
        batch_size=7,
    )

    async def drain(relay: OutboxRelay) -> int:
        total = 0
        while (count := await relay.relay_once()) > 0:
            total += count
        return total

    async with spy_on(bus_prefix.amqp_url, bus_prefix.prefix, parts.topology.exchange.name) as spy:
        counts = await asyncio.gather(drain(first), drain(second), drain(first))
        messages = await spy.collect(expected=120, timeout=20.0)
    await other_engine.dispose()
    ids = [m.message_id for m in messages]
    assert sum(counts) == 120
    assert len(ids) == 120
    assert len(set(ids)) == 120


async def test_notify_wakes_the_relay_long_before_the_poll_interval(
    parts: Parts, bus_prefix: BusNamespace
) -> None:
    relay = parts.relay(poll_interval=120.0)
    task = asyncio.create_task(relay.run())
    try:
        async with spy_on(
            bus_prefix.amqp_url, bus_prefix.prefix, parts.topology.exchange.name
        ) as spy:
            await asyncio.sleep(0.5)  # the relay is now asleep until notified or 120 s pass
            await commit_widgets(parts.engine, 1)
            messages = await spy.collect(expected=1, timeout=10.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(messages) == 1


async def test_unroutable_event_stays_in_the_outbox_with_its_error(parts: Parts) -> None:
    async with UnitOfWork(async_sessionmaker(parts.engine)) as uow:
        # No queue is bound for this topic: the broker returns the mandatory message.
        await uow.emit(Unheard(order_id=uuid4()))
        await uow.commit()
    assert await parts.relay().relay_once() == 0
    async with parts.engine.connect() as connection:
        row = (await connection.execute(select(outbox))).one()
    assert row.published_at is None
    assert row.attempts == 1
    assert "NO_ROUTE" in row.last_error
    assert parts.metrics.publish_failures.labels(topic="nobody.listens")._value.get() == 1


async def test_purge_deletes_old_published_rows_and_keeps_unpublished_ones(parts: Parts) -> None:
    await commit_widgets(parts.engine, 3)
    relay = parts.relay(outbox_retention=timedelta(hours=1))
    assert await relay.relay_once() == 3
    async with parts.engine.begin() as connection:
        await connection.execute(
            update(outbox).values(published_at=func.now() - timedelta(hours=2))
        )
    await commit_widgets(parts.engine, 1)
    assert await relay.purge() == (3, 0)
    async with parts.engine.connect() as connection:
        remaining = (await connection.execute(select(outbox.c.published_at))).scalars().all()
    assert remaining == [None]
    await relay.refresh_metrics()
    assert parts.metrics.outbox_pending._value.get() == 1


async def test_publishing_an_event_directly_carries_its_identity_and_a_trace(
    parts: Parts, bus_prefix: BusNamespace
) -> None:
    event = widget_event("direct")
    async with spy_on(bus_prefix.amqp_url, bus_prefix.prefix, parts.topology.exchange.name) as spy:
        await parts.publisher.publish(event)
        [message] = await spy.collect(expected=1, timeout=10.0)
    assert message.routing_key == WIDGET_MADE
    assert message.message_id == str(event.event_id)
    assert message.correlation_id == str(event.order_id)
    assert str((message.headers or {})["traceparent"]).startswith("00-")
    assert WidgetMade.model_validate_json(message.body) == event


async def test_a_database_cut_away_is_a_warning_a_pass_without_a_traceback(
    parts: Parts, caplog: pytest.LogCaptureFixture
) -> None:
    async with through_proxy(parts.database_url) as (proxy, url):
        engine = create_engine(url, max_connections=2)
        relay = OutboxRelay(
            engine=engine,
            database_url=url,
            publisher=parts.publisher,
            metrics=parts.metrics,
            poll_interval=0.1,
        )
        await proxy.down()
        running = asyncio.create_task(relay.run())
        await asyncio.sleep(0.5)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await engine.dispose()
    logged = [r for r in caplog.records if r.name == "bitloot_runtime.outbox"]
    assert any(r.getMessage().startswith("outbox relay failed") for r in logged)
    assert {(r.levelname, r.exc_info) for r in logged} == {("WARNING", None)}


async def test_a_refused_row_is_postponed_while_the_rest_of_its_batch_is_published(
    parts: Parts,
) -> None:
    """The batch's confirms are awaited together: the broker returning one row (no queue
    for its topic) neither holds back the rows around it nor gets that row stamped."""
    await commit_widgets(parts.engine, 2)
    async with UnitOfWork(async_sessionmaker(parts.engine)) as uow:
        await uow.emit(Unheard(order_id=uuid4()))
        await uow.commit()
    await commit_widgets(parts.engine, 2)
    # No spy here: its catch-all binding would route the refused row too.
    assert await parts.relay().relay_once() == 4
    async with parts.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(outbox.c.topic, outbox.c.published_at, outbox.c.attempts).order_by(
                    outbox.c.id
                )
            )
        ).all()
    stamped = [(row.topic, row.published_at is not None, row.attempts) for row in rows]
    assert stamped == [
        (WIDGET_MADE, True, 0),
        (WIDGET_MADE, True, 0),
        ("nobody.listens", False, 1),
        (WIDGET_MADE, True, 0),
        (WIDGET_MADE, True, 0),
    ]


async def test_the_relay_is_notified_when_an_emitting_unit_commits_and_only_then(
    parts: Parts,
) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(parts.database_url))
    await listener.add_listener(OUTBOX_CHANNEL, lambda *args: heard.put_nowait(args[2]))
    try:
        async with UnitOfWork(async_sessionmaker(parts.engine)) as uow:
            await make_widget(uow, uuid4(), "rolled back")
            await asyncio.sleep(0.3)
            assert heard.empty()  # not before the commit
        await asyncio.sleep(0.3)
        assert heard.empty()  # nor after a rollback
        async with UnitOfWork(async_sessionmaker(parts.engine)) as uow:
            await make_widget(uow, uuid4(), "committed")
            await uow.emit(widget_event("second"))
            await uow.commit()
        assert await asyncio.wait_for(heard.get(), 5.0) == OUTBOX_CHANNEL
        await asyncio.sleep(0.3)
        assert heard.empty()  # one notification for the transaction, however many events
    finally:
        await listener.close()


async def test_two_relays_put_each_orders_events_on_the_bus_in_the_order_queued(
    parts: Parts, bus_prefix: BusNamespace
) -> None:
    """A consumer sees an order's events in the order its steps queued them (the live status
    page shows the last one it hears), though two relays (two instances) take turns at
    the rows and the batches cut one transaction's events apart."""
    sessionmaker = async_sessionmaker(parts.engine)
    queued: dict[str, list[str]] = {}
    for order in range(40):
        async with UnitOfWork(sessionmaker) as uow:
            for step in range(3):
                event = widget_event(f"{order}-{step}")
                queued.setdefault(str(order), []).append(event.name)
                await uow.emit(event)
            await uow.commit()
    brokers = [create_broker(bus_prefix.amqp_url, prefetch=10) for _ in range(2)]
    relays = []
    for broker in brokers:
        await broker.connect()
        publisher = BusPublisher(broker, parts.topology, parts.metrics)
        relays.append(
            OutboxRelay(
                engine=parts.engine,
                database_url=parts.database_url,
                publisher=publisher,
                metrics=parts.metrics,
                batch_size=2,
            )
        )

    async def drain(relay: OutboxRelay) -> None:
        while await relay.relay_once() > 0:
            pass

    async with spy_on(bus_prefix.amqp_url, bus_prefix.prefix, parts.topology.exchange.name) as spy:
        await asyncio.gather(*(drain(relay) for relay in relays))
        messages = await spy.collect(expected=120, timeout=20.0)
    for broker in brokers:
        await broker.stop()
    heard: dict[str, list[str]] = {}
    for message in messages:
        name = WidgetMade.model_validate_json(message.body).name
        heard.setdefault(name.split("-")[0], []).append(name)
    assert heard == queued


class Hanging(BusPublisher):
    """A publisher that never gets an answer: the relay using it holds its batch."""

    async def publish_event(self, **_: Any) -> None:
        await asyncio.Event().wait()


async def test_a_relay_gone_silent_holding_a_batch_holds_the_others_back_only_briefly(
    parts: Parts, bus_prefix: BusNamespace
) -> None:
    """A relay that stops answering while it holds rows (its machine gone, no reset sent)
    does not keep them from the bus: its session ends after `hold_limit` seconds idle in
    its transaction, and another relay publishes them."""
    await commit_widgets(parts.engine, 3)
    broker = create_broker(bus_prefix.amqp_url, prefetch=10)
    silent = OutboxRelay(
        engine=parts.engine,
        database_url=parts.database_url,
        publisher=Hanging(broker, parts.topology, parts.metrics),
        metrics=parts.metrics,
        hold_limit=1.0,
    )
    holding = asyncio.create_task(silent.relay_once())
    async with spy_on(bus_prefix.amqp_url, bus_prefix.prefix, parts.topology.exchange.name) as spy:
        await asyncio.sleep(0.5)  # the silent relay took the batch
        async with asyncio.timeout(10):
            assert await parts.relay().relay_once() == 3
        assert len(await spy.collect(expected=3, timeout=5.0)) == 3
    holding.cancel()
    with contextlib.suppress(BaseException):
        await holding
