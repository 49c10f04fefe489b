"""The saga repository's plain SQL on a real database: every column round-trips, a step's
parts (saga, transitions, timers, events) are written in one statement whatever their number."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_contracts.events import ReservationLine
from bitloot_fulfillment.adapters.orm import metadata
from bitloot_fulfillment.adapters.repository import SagaRepository
from bitloot_fulfillment.domain.saga import OrderSaga
from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_fulfillment.migrations import VERSIONS
from bitloot_runtime.db import UnitOfWork, create_engine, migrate

POLICY = TimerPolicy(
    first_poll=timedelta(minutes=2),
    poll_factor=2.0,
    max_poll_interval=timedelta(minutes=10),
    max_age=timedelta(hours=1),
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(database_url, metadata, [VERSIONS])
    engine = create_engine(database_url, max_connections=4)
    try:
        yield engine
    finally:
        await engine.dispose()


def every_field_set(order_id: UUID) -> OrderSaga:
    return OrderSaga(
        order_id=order_id,
        customer_email="buyer@example.com",
        state="reserved",
        kinguin_order_id="K-1",
        reservation_confirmed=True,
        kinguin_status="processing",
        kinguin_updated_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        keys_left_gateway=True,
        delivered_key_count=2,
        delivery_error="smtp: later",
        failure_stage="deadline",
        failure_reason="no completion",
        polls_sent=3,
        lines=(
            ReservationLine(kinguin_product_id="5c9b", qty=2, max_unit_price=Decimal("9.5")),
            ReservationLine(kinguin_product_id="77aa", qty=1, max_unit_price=Decimal("12")),
        ),
        is_preorder=True,
        preorder_release_date=date(2026, 3, 1),
        delay_notified=True,
        delivered_by_hand_by="admin:ann",
        refund_id=41,
        refund_status="sent",
        refund_at=datetime(2026, 1, 3, tzinfo=UTC),
        refund_amount=Decimal("12.5"),
        refund_currency="usdttrc20",
        refund_transaction_id="0xabc",
        email_sent=False,
    )


async def stored(engine: AsyncEngine, order_id: UUID) -> OrderSaga | None:
    async with UnitOfWork(engine) as uow:
        return await SagaRepository(uow).get_for_update(order_id)


async def test_a_saga_is_read_back_as_it_was_added_and_added_only_once(
    engine: AsyncEngine,
) -> None:
    order_id = uuid4()
    saga = every_field_set(order_id)
    async with UnitOfWork(engine) as uow:
        assert await SagaRepository(uow).add(saga)
        await uow.commit()
    # A second start of the order stores nothing: no saga, transition, timer or event.
    again = OrderSaga(order_id, "other@example.com")
    again._move("reserving", "again")
    again.timers.schedule_poll(POLICY, attempt=1)
    async with UnitOfWork(engine) as uow:
        assert not await SagaRepository(uow).add(again)
        await uow.commit()
    assert await stored(engine, order_id) == saga
    assert await stored(engine, uuid4()) is None
    assert await timeline(engine, order_id) == []
    assert await timers(engine, order_id) == {}
    assert await outbox_ids(engine) == []


async def test_a_step_stores_the_saga_its_transitions_in_order_and_its_timers(
    engine: AsyncEngine,
) -> None:
    order_id = uuid4()
    saga = OrderSaga(order_id, "buyer@example.com")
    saga._move("paid", "started")
    saga.timers.schedule_poll(POLICY, attempt=1)
    saga.timers.schedule_deadline(POLICY)
    first = list(saga.pending)
    async with UnitOfWork(engine) as uow:
        assert await SagaRepository(uow).add(saga)  # with its first step
        await uow.commit()
    assert await timers(engine, order_id) == {"poll": (1, 120), "deadline": (1, 3600)}
    assert not saga.timers.scheduled
    assert not saga.pending

    async with UnitOfWork(engine) as uow:
        repository = SagaRepository(uow)
        loaded = await repository.get_for_update(order_id)
        assert loaded is not None
        for state in ("reserving", "reserved", "keys_requested", "delivering"):
            loaded._move(state, f"to {state}")
        loaded.polls_sent = 2
        loaded.timers.cancel_poll()
        events = list(loaded.pending)
        await repository.store_step(loaded)
        await uow.commit()
    assert not loaded.pending
    assert await outbox_ids(engine) == [event.event_id for event in first + events]
    assert await stored(engine, order_id) == loaded
    assert await timers(engine, order_id) == {"deadline": (1, 3600)}
    assert await timeline(engine, order_id) == [
        ("paid", "paid", "started"),
        ("paid", "reserving", "to reserving"),
        ("reserving", "reserved", "to reserved"),
        ("reserved", "keys_requested", "to keys_requested"),
        ("keys_requested", "delivering", "to delivering"),
    ]


async def test_a_locked_saga_is_skipped_by_whoever_asks_not_to_wait(engine: AsyncEngine) -> None:
    order_id = uuid4()
    async with UnitOfWork(engine) as uow:
        assert await SagaRepository(uow).add(OrderSaga(order_id, "buyer@example.com"))
        await uow.commit()
    async with UnitOfWork(engine) as holder:
        assert await SagaRepository(holder).get_for_update(order_id) is not None
        async with UnitOfWork(engine) as sweeper:
            assert await SagaRepository(sweeper).get_for_update(order_id, skip_locked=True) is None
    async with UnitOfWork(engine) as sweeper:
        assert await SagaRepository(sweeper).get_for_update(order_id, skip_locked=True) is not None


async def timers(engine: AsyncEngine, order_id: UUID) -> dict[str, tuple[int, int]]:
    """kind → (attempt, seconds from now until due, rounded)."""
    async with UnitOfWork(engine) as uow:
        driver = await uow.driver()
        rows = await driver.fetch(
            "SELECT kind, attempt, due_at - now() AS left FROM saga_timers WHERE order_id = $1",
            order_id,
        )
    return {row["kind"]: (row["attempt"], round(row["left"].total_seconds())) for row in rows}


async def outbox_ids(engine: AsyncEngine) -> list[UUID]:
    async with UnitOfWork(engine) as uow:
        driver = await uow.driver()
        return [row[0] for row in await driver.fetch("SELECT event_id FROM outbox ORDER BY id")]


async def timeline(engine: AsyncEngine, order_id: UUID) -> list[tuple[str, str, str]]:
    async with UnitOfWork(engine) as uow:
        driver = await uow.driver()
        rows = await driver.fetch(
            "SELECT from_state, to_state, reason FROM saga_transitions"
            " WHERE order_id = $1 ORDER BY id",
            order_id,
        )
    return [(row["from_state"], row["to_state"], row["reason"]) for row in rows]
