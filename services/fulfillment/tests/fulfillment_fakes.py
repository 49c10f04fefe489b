"""Fulfillment's repositories in memory, subclassing the same ports as the real ones, for
handler tests of business rules without a database (`FakeFulfillmentWork`)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bitloot_contracts.events import OrderState
from bitloot_fulfillment.domain.saga import OrderSaga
from bitloot_fulfillment.domain.stats import Hour, WaitingOrders
from bitloot_fulfillment.domain.timers import DEADLINE, DueTimer, TimerSet
from bitloot_fulfillment.handlers.ports import Figures, Sagas
from bitloot_testing.fakes import FakeWork


class FakeSagas(Sagas):
    """Sagas, their timelines and timers in dicts, on a clock the test moves (`now`).
    A saga in `locked` is held by another unit of work."""

    def __init__(self, work: FakeWork) -> None:
        self._work = work
        self.now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
        self.rows: dict[UUID, OrderSaga] = {}
        self.timeline: dict[UUID, list[tuple[OrderState | None, OrderState, datetime]]] = {}
        self.timers: dict[tuple[UUID, str], DueTimer] = {}
        self.locked: set[UUID] = set()

    async def get_for_update(
        self, order_id: UUID, *, skip_locked: bool = False
    ) -> OrderSaga | None:
        saga = self.rows.get(order_id)
        if saga is None or (skip_locked and order_id in self.locked):
            return None
        return replace(saga, pending=[], transitions=[], timers=TimerSet())

    async def add(self, saga: OrderSaga) -> bool:
        if saga.order_id in self.rows:
            return False
        await self.store_step(saga)
        return True

    async def store_step(self, saga: OrderSaga, *, save: bool = True) -> None:
        if save:
            self.rows[saga.order_id] = replace(saga, pending=[], transitions=[], timers=TimerSet())
        self.timeline.setdefault(saga.order_id, []).extend(
            (change.previous_status, change.status, self.now) for change in saga.transitions
        )
        for kind in saga.timers.cancelled:
            self.timers.pop((saga.order_id, kind), None)
        for timer in saga.timers.scheduled:
            due = DueTimer(saga.order_id, timer.kind, timer.attempt, self.now + timer.delay)
            self.timers[saga.order_id, timer.kind] = due
        for event in saga.pending:
            await self._work.emit(event)
        saga.pending.clear()
        saga.transitions.clear()
        saga.timers.clear()

    async def idle_for(self, order_id: UUID) -> timedelta | None:
        changes = self.timeline.get(order_id)
        return self.now - changes[-1][2] if changes else None

    async def deadline_passed(self, order_id: UUID) -> bool:
        deadline = self.timers.get((order_id, DEADLINE))
        return deadline is None or deadline.due_at <= self.now

    async def claim_due_timers(self, limit: int) -> list[DueTimer]:
        due = sorted((t for t in self.timers.values() if t.due_at <= self.now), key=_due_at)
        return due[:limit]

    async def delete_timer(self, timer: DueTimer) -> None:
        self.timers.pop((timer.order_id, timer.kind), None)


def _due_at(timer: DueTimer) -> datetime:
    return timer.due_at


class FakeFigures(Figures):
    """The figures a test sets; `deadlines` the stuck-for each reading asked for."""

    def __init__(self) -> None:
        self.hours: list[Hour] = []
        self.failed = self.stuck = WaitingOrders(0, [])
        self.deadlines: list[timedelta] = []

    async def hourly(self, since: datetime) -> list[Hour]:
        return self.hours

    async def failed_orders(self) -> WaitingOrders:
        return self.failed

    async def stuck_orders(self, deadline: timedelta) -> WaitingOrders:
        self.deadlines.append(deadline)
        return self.stuck


class FakeFulfillmentWork(FakeWork):
    """`FulfillmentWork` in memory; one instance stands for the database across the
    units of work of a test (`lambda: work` as a use case's factory)."""

    def __init__(self) -> None:
        super().__init__()
        self.sagas = FakeSagas(self)
        self.figures = FakeFigures()
