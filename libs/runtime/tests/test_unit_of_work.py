"""One unit of work, one transaction: statements through SQLAlchemy (`session`) and
through the driver (`driver()`) commit together or not at all, on real PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from runtime_support import (
    WIDGET_MADE,
    create_widgets_table,
    make_widget,
    metadata,
    settings_for,
    widget_event,
    widget_names,
    widget_runtime,
)
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import engine as sqlalchemy_async_engine
from sqlalchemy.util.concurrency import greenlet_spawn

from bitloot_contracts.events import Event
from bitloot_runtime.db import (
    OUTBOX_CHANNEL,
    UnitOfWork,
    asyncpg_dsn,
    create_engine,
    migrate,
    outbox_arrays,
    outbox_insert,
)
from bitloot_runtime.propagation import current_traceparent
from bitloot_runtime.tables import inbox, outbox
from bitloot_testing.proxy import through_proxy

_WIDGET = "INSERT INTO widgets (id, order_id, name) VALUES ($1, $2, $3)"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(database_url, metadata, [])
    engine = create_engine(database_url, max_connections=4)
    await create_widgets_table(engine)
    yield engine
    await engine.dispose()


async def by_driver(uow: UnitOfWork, name: str) -> None:
    driver = await uow.driver()
    await driver.execute(_WIDGET, uuid4(), uuid4(), name)


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        outboxed = await connection.scalar(select(func.count()).select_from(outbox))
        claimed = await connection.scalar(select(func.count()).select_from(inbox))
    return int(outboxed or 0), int(claimed or 0)


async def test_driver_statements_alone_are_committed(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        assert await uow.claim("widgets.made", "m-1")
        await by_driver(uow, "driver only")
        await uow.commit()
    assert await widget_names(engine) == ["driver only"]
    assert await counts(engine) == (0, 1)


async def test_both_ways_commit_together(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        await make_widget(uow, uuid4(), "through session")  # and its event, by the driver
        await by_driver(uow, "through driver")
        await uow.commit()
    assert sorted(await widget_names(engine)) == ["through driver", "through session"]
    assert await counts(engine) == (1, 0)


@pytest.mark.parametrize("driver_first", [True, False])
async def test_both_ways_roll_back_together_without_commit(
    engine: AsyncEngine, driver_first: bool
) -> None:
    async with UnitOfWork(engine) as uow:
        if driver_first:
            assert await uow.claim("widgets.made", "m-2")
        await make_widget(uow, uuid4(), "lost")
        await by_driver(uow, "lost too")
        assert await uow.claim("widgets.made", "m-3")
    assert await widget_names(engine) == []
    assert await counts(engine) == (0, 0)


async def test_an_error_in_the_unit_rolls_back_what_the_driver_wrote(engine: AsyncEngine) -> None:
    async def failing_handler() -> None:
        async with UnitOfWork(engine) as uow:
            await by_driver(uow, "half done")
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await failing_handler()
    assert await widget_names(engine) == []


async def test_after_a_session_rollback_the_unit_goes_on_in_a_new_transaction(
    engine: AsyncEngine,
) -> None:
    async with UnitOfWork(engine) as uow:
        await by_driver(uow, "undone")
        await uow.session.rollback()
        await by_driver(uow, "kept")
        await uow.commit()
    assert await widget_names(engine) == ["kept"]


async def test_a_claim_is_made_once_per_consumer_and_message(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        assert await uow.claim("widgets.made", "m-4")
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        assert not await uow.claim("widgets.made", "m-4")
        assert await uow.claim("widgets.other", "m-4")
        await uow.commit()
    assert await counts(engine) == (0, 2)


async def test_connections_are_kept_between_peaks_not_reopened(database_url: str) -> None:
    """More units of work at once than `pool_size`, again and again (a consumer with its
    prefetch in hand): the connections opened for the first peak serve the later ones."""
    engine = create_engine(database_url, max_connections=4)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda connection, record: opened.append(record))

    async def unit() -> None:
        async with UnitOfWork(engine) as uow:
            await (await uow.driver()).execute("SELECT pg_sleep(0.05)")
            await uow.commit()

    try:
        for _ in range(5):
            await asyncio.gather(*(unit() for _ in range(4)))
    finally:
        await engine.dispose()
    assert len(opened) == 4


async def test_a_connection_killed_under_the_driver_fails_the_unit_and_not_the_next(
    engine: AsyncEngine,
) -> None:
    """The server ends the backend mid-unit: the statement's own error comes out of the
    unit (not a failed rollback's over it), the dead connection does not go back to the
    pool, and the next units of work run on good ones."""

    async def killed_unit() -> None:
        async with UnitOfWork(engine) as uow:
            driver = await uow.driver()
            await by_driver(uow, "lost with its connection")
            async with engine.connect() as other:
                await other.execute(select(func.pg_terminate_backend(driver.get_server_pid())))
            await by_driver(uow, "never written")
            await uow.commit()

    # The statement's own error ("connection is closed", or asyncpg's protocol caught
    # mid-operation), never a failed rollback's raised over it on the way out.
    with pytest.raises(Exception, match=r"^(?!.*rollback)"):
        await killed_unit()
    for _ in range(3):  # every pooled connection is good again
        async with UnitOfWork(engine) as uow:
            await by_driver(uow, "after")
            await uow.commit()
    assert await widget_names(engine) == ["after"] * 3


_TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def widget_with_events(uow: UnitOfWork, name: str, events: list[Event]) -> None:
    """One statement: a widget and its events (`outbox_insert`)."""
    driver = await uow.driver()
    await driver.execute(
        "WITH widget AS (INSERT INTO widgets (id, order_id, name) VALUES ($1, $2, $3)) "  # noqa: S608
        + outbox_insert(4),
        uuid4(),
        uuid4(),
        name,
        *outbox_arrays(events),
    )


async def test_events_queued_in_their_state_change_s_statement_are_emit_s_rows_in_order(
    engine: AsyncEngine,
) -> None:
    events: list[Event] = [widget_event(f"w{n}") for n in range(5)]
    token = current_traceparent.set(_TRACE)
    try:
        async with UnitOfWork(engine) as uow:
            await widget_with_events(uow, "rolled back", [widget_event("lost")])
        async with UnitOfWork(engine) as uow:
            await widget_with_events(uow, "batched", events)
            await uow.emit(widget_event("emitted"))
            await uow.commit()
    finally:
        current_traceparent.reset(token)
    assert await widget_names(engine) == ["batched"]
    async with UnitOfWork(engine) as uow:
        driver = await uow.driver()
        rows = await driver.fetch("SELECT topic, order_id, body, headers FROM outbox ORDER BY id")
    assert [bytes(row["body"]) for row in rows[:5]] == [
        event.model_dump_json().encode() for event in events
    ]
    assert [row["order_id"] for row in rows[:5]] == [event.order_id for event in events]
    # Each row carries a child of the current trace, as emit's own row does.
    assert {row["topic"] for row in rows} == {events[0].topic}
    assert {row["headers"]["traceparent"][:36] for row in rows} == {_TRACE[:36]}


async def test_events_queued_in_their_state_change_s_statement_wake_the_relay_on_commit(
    engine: AsyncEngine, database_url: str
) -> None:
    heard: list[str] = []
    listener = await asyncpg.connect(asyncpg_dsn(database_url))
    await listener.add_listener(OUTBOX_CHANNEL, lambda *args: heard.append(args[2]))
    try:
        for commit in (False, True):
            async with UnitOfWork(engine) as uow:
                await widget_with_events(uow, str(commit), [widget_event(), widget_event()])
                if commit:
                    await uow.commit()
            await asyncio.sleep(0.5)
    finally:
        await listener.close()
    assert heard == [OUTBOX_CHANNEL]  # once for the committed statement, however many events


async def test_a_connection_that_died_in_the_pool_is_discarded_not_handed_out_again(
    engine: AsyncEngine, database_url: str
) -> None:
    """The database restarted while the pool held its connections (here: each backend
    ended): the unit of work that draws one fails on BEGIN, and the next one draws a good
    connection, however many times the first failed."""
    async with UnitOfWork(engine) as uow:
        pid = (await uow.driver()).get_server_pid()
        await uow.commit()
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)

    async def claim_and_write(name: str) -> None:
        async with UnitOfWork(engine) as uow:
            assert await uow.claim("widgets.made", name)
            await by_driver(uow, name)
            await uow.commit()

    with pytest.raises(Exception, match="connection"):
        await claim_and_write("on the dead connection")
    await claim_and_write("on a good one")
    assert await widget_names(engine) == ["on a good one"]


async def test_a_unit_on_the_driver_alone_crosses_into_sqlalchemy_once_for_its_checkout(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beginning, committing and returning the connection of a unit that used only the
    driver await nothing of SQLAlchemy's: only the checkout goes through its asyncio
    bridge (each crossing is a greenlet, its frame stack mapped and unmapped).
    A unit left without commit still rolls back through it."""
    crossings: list[object] = []
    spawn = greenlet_spawn

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        crossings.append(fn)
        return await spawn(fn, *args, **kwargs)

    monkeypatch.setattr(sqlalchemy_async_engine, "greenlet_spawn", counted)
    for name in ("first", "second"):
        async with UnitOfWork(engine) as uow:
            assert await uow.claim("widgets.made", name)
            await by_driver(uow, name)
            await uow.commit()
    assert len(crossings) == 2
    async with UnitOfWork(engine) as uow:
        await by_driver(uow, "not committed")
    assert len(crossings) == 4  # its checkout, and its close with the rollback
    assert sorted(await widget_names(engine)) == ["first", "second"]
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_commit_the_server_refuses_raises_and_leaves_nothing_written(
    engine: AsyncEngine,
) -> None:
    """A deferred constraint fails at COMMIT itself: the unit raises the server's error,
    nothing of it is written, and its connection serves the next unit."""
    async with engine.begin() as connection:
        await connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS deferred_ids"
            " (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED)"
        )

    async def twice(value: int) -> None:
        async with UnitOfWork(engine) as uow:
            await by_driver(uow, f"with {value}")
            driver = await uow.driver()
            await driver.execute("INSERT INTO deferred_ids VALUES ($1), ($1)", value)
            await uow.commit()

    with pytest.raises(asyncpg.UniqueViolationError):
        await twice(1)
    async with UnitOfWork(engine) as uow:
        await by_driver(uow, "next")
        await (await uow.driver()).execute("INSERT INTO deferred_ids VALUES (2)")
        await uow.commit()
    assert await widget_names(engine) == ["next"]
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("SELECT id FROM deferred_ids")).all() == [(2,)]


async def test_after_commit_callbacks_run_once_after_a_commit_and_never_on_rollback(
    engine: AsyncEngine,
) -> None:
    ran: list[str] = []

    async def failing() -> None:
        async with UnitOfWork(engine) as uow:
            await by_driver(uow, "rolled back")
            uow.on_commit(lambda: ran.append("rolled back"))
            raise ConnectionError("the handler failed before committing")

    with pytest.raises(ConnectionError):
        await failing()
    async with UnitOfWork(engine) as uow:
        await by_driver(uow, "committed")
        uow.on_commit(lambda: ran.append("committed"))
        assert ran == []  # not before the commit
        await uow.commit()
        await uow.commit()  # a second commit does not run it again
    assert ran == ["committed"]


async def test_after_commit_callbacks_do_not_run_when_the_server_refuses_the_commit(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS deferred_ids"
            " (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED)"
        )
        await connection.exec_driver_sql("DELETE FROM deferred_ids WHERE id = 3")
    ran: list[str] = []

    async def refused() -> None:
        async with UnitOfWork(engine) as uow:
            await (await uow.driver()).execute("INSERT INTO deferred_ids VALUES (3), (3)")
            uow.on_commit(lambda: ran.append("refused"))
            await uow.commit()

    with pytest.raises(asyncpg.UniqueViolationError):
        await refused()
    assert ran == []


async def test_a_failing_after_commit_callback_does_not_stop_the_others(
    engine: AsyncEngine,
) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("a counter with a bad label")

    async with UnitOfWork(engine) as uow:
        await by_driver(uow, "committed")
        uow.on_commit(broken)
        uow.on_commit(lambda: ran.append("second"))
        await uow.commit()
    assert ran == ["second"]
    assert await widget_names(engine) == ["committed"]


async def test_pool_gauges_count_connections_in_use(database_url: str) -> None:
    """The pool holds at most the configured `database_max_connections` (the services
    sharing one server are sized to fit its max_connections), and says so."""
    settings = settings_for(
        database_url, "amqp://unused/", "metrics-pool", database_max_connections=6
    )
    runtime = widget_runtime(settings)
    try:
        async with UnitOfWork(runtime.engine) as uow:
            await uow.driver()
            runtime.refresh_pool_gauges()
            labels = {"service": "widgets"}
            registry = runtime.metrics.registry
            assert registry.get_sample_value("bitloot_db_pool_checked_out", labels) == 1
            assert registry.get_sample_value("bitloot_db_pool_size", labels) == 6
        runtime.refresh_pool_gauges()
        assert registry.get_sample_value("bitloot_db_pool_checked_out", labels) == 0
    finally:
        await runtime.engine.dispose()


async def test_observers_of_a_topic_see_its_events_once_their_unit_commits(
    engine: AsyncEngine,
) -> None:
    seen: list[str] = []
    observers = {WIDGET_MADE: [lambda event: seen.append(str(event.order_id))]}
    kept, dropped = uuid4(), uuid4()
    async with UnitOfWork(engine, observers) as uow:
        await make_widget(uow, dropped, "rolled back")  # emits widget.made
    async with UnitOfWork(engine, observers) as uow:
        await make_widget(uow, kept, "committed")
        assert seen == []
        await uow.commit()
    assert seen == [str(kept)]


class WidgetWork(UnitOfWork):
    """A service's own unit of work, as each service's hands out its repositories."""


class OtherWork(UnitOfWork):
    pass


async def test_the_runtime_opens_the_services_own_unit_of_work(
    database_url: str, engine: AsyncEngine
) -> None:
    settings = settings_for(database_url, "amqp://unused/", "own-uow")
    runtime = widget_runtime(settings, unit_of_work_class=WidgetWork)
    try:
        assert type(runtime.unit_of_work()) is WidgetWork
        async with runtime.units_of_work(WidgetWork)() as uow:
            assert isinstance(uow, WidgetWork)
            await by_driver(uow, "through the subclass")
            await uow.commit()
        assert await widget_names(runtime.engine) == ["through the subclass"]
        with pytest.raises(TypeError, match="WidgetWork is not a OtherWork"):
            runtime.units_of_work(OtherWork)
    finally:
        await runtime.engine.dispose()


async def _written_by_driver(uow: UnitOfWork) -> None:
    await by_driver(uow, "cancelled")


async def _written_through_sqlalchemy(uow: UnitOfWork) -> None:
    await make_widget(uow, uuid4(), "cancelled", emit=False)


async def _written_under_a_deadline(uow: UnitOfWork) -> None:
    """A deadline inside the unit (as a purchase's once was): the unit itself ends on the
    TimeoutError, an ordinary exception, with its BEGIN unanswered."""
    async with asyncio.timeout(0.2):
        await by_driver(uow, "cancelled")


# Where a unit is cut short: the client bytes whose answer is held until it is, and how
# the unit writes (its BEGIN sent by `driver()`, by SQLAlchemy's first statement, or under
# a deadline of its own; all others are cancelled from outside, as a shutdown or a
# deadline around the whole unit does).
_CUT_SHORT_AT = {
    "its BEGIN": (b"BEGIN", _written_by_driver),
    "its BEGIN through SQLAlchemy": (b"BEGIN", _written_through_sqlalchemy),
    "its BEGIN under a deadline inside it": (b"BEGIN", _written_under_a_deadline),
    "a statement": (b"INSERT INTO widgets", _written_by_driver),
    "its COMMIT": (b"COMMIT", _written_by_driver),
}


@pytest.mark.parametrize("step", list(_CUT_SHORT_AT))
async def test_a_unit_cut_short_at_any_step_hands_the_next_a_connection_that_commits(
    database_url: str, engine: AsyncEngine, step: str
) -> None:
    """A unit of work is cancelled (a shutdown, a deadline) while the server has not
    answered its BEGIN, a statement or its COMMIT. The pool's one connection must not
    carry that into the next unit: the next unit's commit is durable, seen from another
    connection.

    (asyncpg keeps a transaction whose BEGIN was cut short as the connection's own and
    begins the next as a SAVEPOINT inside it, so that unit's commit was only a RELEASE and
    its writes were lost with the connection: the reservations chaos lost. After a cut
    COMMIT, the next BEGIN could be refused as "in a manually started transaction".)"""
    pattern, write = _CUT_SHORT_AT[step]
    async with through_proxy(database_url) as (proxy, url):
        proxied = create_engine(url, max_connections=1)
        try:
            async with UnitOfWork(proxied) as uow:  # connected, its codecs set up
                await (await uow.driver()).fetchval("SELECT 1")
                await uow.commit()
            watch = proxy.watch(pattern, hold=True)

            async def cut_short() -> None:
                async with UnitOfWork(proxied) as uow:
                    await write(uow)
                    await uow.commit()

            task = asyncio.create_task(cut_short())
            await asyncio.wait_for(watch.seen.wait(), timeout=5)
            if write is _written_under_a_deadline:
                with pytest.raises(TimeoutError):
                    await task
                proxy.unwatch(watch)
            else:
                task.cancel()  # the driver's wait for the answer is cancelled at once
                proxy.unwatch(watch)  # and the answer then comes too late
                with pytest.raises(asyncio.CancelledError):
                    await task
            async with UnitOfWork(proxied) as uow:
                await by_driver(uow, "next")
                await uow.commit()
        finally:
            await proxied.dispose()
    assert "next" in await widget_names(engine)
