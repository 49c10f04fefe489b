"""The repositories' plain SQL on real PostgreSQL: in the transaction of whatever they are
built on, and the one-statement look-up of a webhook's attempt and reservation."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bitloot_kinguin_gateway.adapters.orm import metadata
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_kinguin_gateway.migrations import VERSIONS
from bitloot_runtime.db import UnitOfWork, create_engine, migrate
from bitloot_runtime.tracing import trace_id_of


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(database_url, metadata, [VERSIONS])
    engine = create_engine(database_url, max_connections=4)
    yield engine
    await engine.dispose()


@asynccontextmanager
async def opened(
    engine: AsyncEngine,
) -> AsyncIterator[tuple[UUID, ReservationRepository, UnitOfWork]]:
    """A unit of work in which a new order's reservation was just opened `placing`."""
    order_id = uuid4()
    async with UnitOfWork(engine) as uow:
        repository = ReservationRepository(uow)
        await repository.open(order_id, [{"qty": 1}])
        yield order_id, repository, uow


async def test_statements_on_a_sqlalchemy_connection_commit_and_roll_back_with_it(
    engine: AsyncEngine,
) -> None:
    kept, dropped = uuid4(), uuid4()
    async with engine.connect() as connection:
        await ReservationRepository(connection).open(dropped, [{"qty": 1}])
        await connection.rollback()
        await ReservationRepository(connection).open(kept, [{"qty": 1}])
        await connection.commit()
    async with AsyncSession(engine) as session:
        repository = ReservationRepository(session)
        assert await repository.get(dropped) is None
        found = await repository.get(kept)
    assert found is not None
    assert (found.state, found.lines, found.attempt) == ("placing", [{"qty": 1}], 1)


async def test_a_webhook_finds_its_attempt_and_reservation_by_either_id(
    engine: AsyncEngine,
) -> None:
    async with opened(engine) as (order_id, repository, uow):
        await repository.mark_placed(order_id, "K-1", "processing")
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        repository = ReservationRepository(uow)
        by_kinguin_id = await repository.locate("K-1", None, None)
        by_external_id = await repository.locate(None, str(order_id), order_id)
        unknown = await repository.locate("K-2", "not-ours", None)
        neither = await repository.locate(None, None, None)
    for attempt, reservation, traceparent in (by_kinguin_id, by_external_id):
        # Opened outside any trace: a trace of its own, that its webhooks go on in.
        assert trace_id_of(traceparent) is not None
        assert attempt is not None
        assert reservation is not None
        assert (attempt.order_id, attempt.attempt, attempt.kinguin_order_id) == (order_id, 1, "K-1")
        assert (reservation.order_id, reservation.state) == (order_id, "placed")
    assert unknown == (None, None, None)
    assert neither == (None, None, None)


async def test_an_order_adopted_under_an_earlier_attempt_is_placed_on_that_attempt(
    engine: AsyncEngine,
) -> None:
    async with opened(engine) as (order_id, repository, _):
        await repository.mark_failed(order_id, "product_unavailable", "out of stock")
        await repository.start_attempt(order_id)
        first, _ = await repository.attempts(order_id)
        await repository.mark_placed(order_id, "K-1", "processing", attempt=first)
        found = await repository.get(order_id)
        tried = await repository.attempts(order_id)
    assert found is not None
    assert (found.state, found.attempt, found.kinguin_order_id) == ("placed", 1, "K-1")
    assert [(a.kinguin_order_id, a.kinguin_status) for a in tried] == [
        ("K-1", "processing"),
        (None, None),
    ]


async def test_a_new_reservation_is_stamped_and_only_its_own_stamp_is_cleared(
    engine: AsyncEngine,
) -> None:
    """A handler clears the stamp it holds, never the later one of a handler that took the
    order over meanwhile."""
    async with UnitOfWork(engine) as uow:
        repository = ReservationRepository(uow)
        order_id = uuid4()
        _, first = await repository.open(order_id, [{"qty": 1}])
        assert first is not None
        assert (await repository.open(order_id, [{"qty": 1}]))[1] is None
        assert await repository.in_flight(str(order_id), 60.0) > 59
        later = await repository.mark_sent(str(order_id))
        await repository.unstamp(str(order_id), first)
        assert await repository.in_flight(str(order_id), 60.0) > 59
        await repository.unstamp(str(order_id), later)
        assert await repository.in_flight(str(order_id), 60.0) == 0
