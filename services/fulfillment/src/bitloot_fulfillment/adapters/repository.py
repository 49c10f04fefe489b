"""Loading and storing sagas and their timers. A saga is read `FOR UPDATE`, so two
events of one order handled at once by two consumers apply one after the other, never
over each other."""

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Delete, Insert, Update, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_contracts.events import OrderStatusChanged, ReservationLine
from bitloot_fulfillment.adapters.orm import saga_timers, saga_transitions, sagas
from bitloot_fulfillment.domain.saga import OrderSaga
from bitloot_fulfillment.domain.timers import DEADLINE, TimerSet

_Write = Insert | Update | Delete
_COLUMNS = [f.name for f in fields(OrderSaga) if f.name not in ("pending", "timers")]


@dataclass(frozen=True)
class DueTimer:
    order_id: UUID
    kind: str
    attempt: int
    due_at: datetime


class SagaRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def get_for_update(
        self, order_id: UUID, *, skip_locked: bool = False
    ) -> OrderSaga | None:
        """The saga, locked until the transaction ends; with `skip_locked`, None while
        another transaction holds it (the sweeper never waits on a handler)."""
        query = select(sagas).where(sagas.c.order_id == order_id)
        query = query.with_for_update(skip_locked=skip_locked)
        row = (await self._session.execute(query)).mappings().first()
        if row is None:
            return None
        values = {name: row[name] for name in _COLUMNS}
        values["lines"] = tuple(ReservationLine.model_validate(line) for line in row["lines"])
        return OrderSaga(**values)

    async def add(self, saga: OrderSaga) -> bool:
        """Store a new saga; False (and nothing stored) if the order already has one. A
        concurrent insert of the same order waits for the first transaction to end."""
        statement = (
            pg_insert(sagas)
            .values(self._values(saga))
            .on_conflict_do_nothing(index_elements=[sagas.c.order_id])
            .returning(sagas.c.order_id)
        )
        return (await self._session.execute(statement)).first() is not None

    async def idle_for(self, order_id: UUID) -> timedelta | None:
        """How long ago the order's last transition was (the database's clock)."""
        latest = select(func.max(saga_transitions.c.at)).where(
            saga_transitions.c.order_id == order_id
        )
        value: timedelta | None = await self._session.scalar(
            select(func.now() - latest.scalar_subquery())
        )
        return value

    async def store_step(self, saga: OrderSaga, *, save: bool = True) -> None:
        """Store what one step of the saga did, in one statement: its new values (unless
        `save` is False: unchanged, or just inserted), the transitions it made for the
        order's timeline and the timers it set or dropped (due times from the database's
        clock, so that every instance agrees on them). Its events are the caller's to emit.

        The parts touch different rows (a timer kind is either cancelled or scheduled in
        one step, never both: `TimerSet`), so they run as data-modifying CTEs of one
        statement, with the effect of running them one after the other.
        """
        parts: list[_Write] = []
        if save:
            parts.append(
                update(sagas)
                .where(sagas.c.order_id == saga.order_id)
                .values(**self._values(saga), updated_at=func.now())
            )
        changes = [event for event in saga.pending if isinstance(event, OrderStatusChanged)]
        if changes:
            parts.append(_transitions(changes))
        parts.extend(_timer_changes(saga.order_id, saga.timers))
        saga.timers.clear()
        if not parts:
            return
        *others, statement = parts
        for number, other in enumerate(others):
            statement = statement.add_cte(other.cte(f"part_{number}"))
        await self._session.execute(statement)

    async def deadline_passed(self, order_id: UUID) -> bool:
        """Whether the saga has no deadline still ahead of it (by the database's clock):
        the sweeper has not failed it yet, or its timer is gone."""
        ahead = exists().where(
            saga_timers.c.order_id == order_id,
            saga_timers.c.kind == DEADLINE,
            saga_timers.c.due_at > func.now(),
        )
        return not (await self._session.execute(select(ahead))).scalar_one()

    async def claim_due_timers(self, limit: int) -> list[DueTimer]:
        """Due timers no other instance is firing right now, locked until commit."""
        query = (
            select(saga_timers)
            .where(saga_timers.c.due_at <= func.now())
            .order_by(saga_timers.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await self._session.execute(query)).all()
        return [DueTimer(row.order_id, row.kind, row.attempt, row.due_at) for row in rows]

    async def delete_timer(self, timer: DueTimer) -> None:
        await self._session.execute(
            delete(saga_timers).where(
                saga_timers.c.order_id == timer.order_id, saga_timers.c.kind == timer.kind
            )
        )

    @staticmethod
    def _values(saga: OrderSaga) -> dict[str, object]:
        values = {name: getattr(saga, name) for name in _COLUMNS}
        values["lines"] = [line.model_dump(mode="json") for line in saga.lines]
        return values


def _transitions(changes: list[OrderStatusChanged]) -> Insert:
    """The transitions, in order, for the order's timeline: a multi-row VALUES takes its
    identities in list order, as the timeline reads them."""
    return insert(saga_transitions).values(
        [
            {
                "order_id": change.order_id,
                "from_state": change.previous_status,
                "to_state": change.status,
                "reason": change.reason,
                "at": change.occurred_at,
            }
            for change in changes
        ]
    )


def _timer_changes(order_id: UUID, timers: TimerSet) -> list[_Write]:
    """The statements that drop the cancelled timers and set the scheduled ones."""
    changes: list[_Write] = []
    if timers.cancelled:
        changes.append(
            delete(saga_timers).where(
                saga_timers.c.order_id == order_id, saga_timers.c.kind.in_(timers.cancelled)
            )
        )
    if timers.scheduled:
        rows = [
            {
                "order_id": order_id,
                "kind": timer.kind,
                "due_at": func.now() + timer.delay,
                "attempt": timer.attempt,
            }
            for timer in timers.scheduled
        ]
        upsert = pg_insert(saga_timers).values(rows)
        changes.append(
            upsert.on_conflict_do_update(
                constraint="pk_saga_timers",
                set_={"due_at": upsert.excluded.due_at, "attempt": upsert.excluded.attempt},
            )
        )
    return changes
