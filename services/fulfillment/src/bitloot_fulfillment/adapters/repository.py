"""Loading and storing sagas and their timers. A saga is read `FOR UPDATE`, so two
events of one order handled at once by two consumers apply one after the other, never
over each other.

Every statement is plain SQL with `$n` parameters on the unit of work's own asyncpg
connection (`UnitOfWork.driver()`), inside its transaction: each text is prepared once
per connection, and nothing is compiled per call. That matters on the per-order path
(one read and one write per consumed event): SQLAlchemy compiled `store_step`'s
multi-row VALUES from scratch on every call. Rows of a variable number (transitions,
timers) are passed as arrays and expanded with `unnest`, so that the text depends only
on which parts a step has, never on how many rows each part writes.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

from bitloot_contracts.events import OrderStatusChanged, ReservationLine
from bitloot_fulfillment.domain.saga import OrderSaga
from bitloot_fulfillment.domain.timers import DEADLINE
from bitloot_runtime.db import UnitOfWork, outbox_arrays, outbox_insert

# The saga's stored columns, in the dataclass's order (`order_id` first).
_COLUMNS = tuple(f.name for f in fields(OrderSaga) if f.name not in ("pending", "timers"))
# The texts below are built from column names and parameter numbers, never from values
# (hence the `noqa: S608`s).
_NAMES = ", ".join(_COLUMNS)
_SELECT = f"SELECT {_NAMES} FROM sagas WHERE order_id = $1 FOR UPDATE"  # noqa: S608
_SELECT_SKIP_LOCKED = _SELECT + " SKIP LOCKED"
_ADD = (
    f"INSERT INTO sagas ({_NAMES})"  # noqa: S608
    f" VALUES ({', '.join(f'${n}' for n in range(1, len(_COLUMNS) + 1))})"
    " ON CONFLICT (order_id) DO NOTHING RETURNING order_id"
)
_IDLE_FOR = "SELECT now() - max(at) FROM saga_transitions WHERE order_id = $1"
_DEADLINE_AHEAD = (
    "SELECT EXISTS (SELECT FROM saga_timers WHERE order_id = $1 AND kind = $2 AND due_at > now())"
)
_CLAIM_DUE = (
    "SELECT order_id, kind, attempt, due_at FROM saga_timers WHERE due_at <= now()"
    " ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED"
)
_DELETE_TIMER = "DELETE FROM saga_timers WHERE order_id = $1 AND kind = $2"


@dataclass(frozen=True)
class DueTimer:
    order_id: UUID
    kind: str
    attempt: int
    due_at: datetime


class SagaRepository:
    """The one place of the saga's SQL, on the unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def get_for_update(
        self, order_id: UUID, *, skip_locked: bool = False
    ) -> OrderSaga | None:
        """The saga, locked until the transaction ends; with `skip_locked`, None while
        another transaction holds it (the sweeper never waits on a handler)."""
        driver = await self._uow.driver()
        row = await driver.fetchrow(_SELECT_SKIP_LOCKED if skip_locked else _SELECT, order_id)
        if row is None:
            return None
        values = dict(zip(_COLUMNS, row, strict=True))
        values["lines"] = tuple(ReservationLine.model_validate(line) for line in row["lines"])
        return OrderSaga(**values)

    async def add(self, saga: OrderSaga) -> bool:
        """Store a new saga; False (and nothing stored) if the order already has one. A
        concurrent insert of the same order waits for the first transaction to end."""
        driver = await self._uow.driver()
        return await driver.fetchval(_ADD, *_values(saga)) is not None

    async def idle_for(self, order_id: UUID) -> timedelta | None:
        """How long ago the order's last transition was (the database's clock)."""
        driver = await self._uow.driver()
        idle: timedelta | None = await driver.fetchval(_IDLE_FOR, order_id)
        return idle

    async def store_step(self, saga: OrderSaga, *, save: bool = True) -> None:
        """Store what one step of the saga did, in one statement: its new values (unless
        `save` is False: unchanged, or just inserted), the transitions it made for the
        order's timeline, the timers it set or dropped (due times from the database's
        clock, so that every instance agrees on them) and its events, queued in order
        for publication (the runtime's outbox, as `UnitOfWork.emit` queues them). The
        saga is left with no timer change and no event pending.

        The parts touch different rows (a timer kind is either cancelled or scheduled in
        one step, never both: `TimerSet`), so they run as data-modifying CTEs of one
        statement, with the effect of running them one after the other: one round trip
        per step, however many rows it writes.
        """
        events, timers = saga.pending, saga.timers
        changes = [event for event in events if isinstance(event, OrderStatusChanged)]
        scheduled = timers.scheduled
        shape = _Shape(save, bool(changes), bool(timers.cancelled), bool(scheduled), bool(events))
        args: list[Any] = [saga.order_id]
        if save:
            args.extend(_values(saga)[1:])
        if changes:
            args.append([change.previous_status for change in changes])
            args.append([change.status for change in changes])
            args.append([change.reason for change in changes])
            args.append([change.occurred_at for change in changes])
        if timers.cancelled:
            args.append(list(timers.cancelled))
        if scheduled:
            args.append([timer.kind for timer in scheduled])
            args.append([timer.delay for timer in scheduled])
            args.append([timer.attempt for timer in scheduled])
        if events:
            args.extend(outbox_arrays(events))
        timers.clear()
        events.clear()
        if len(args) == 1:
            return
        driver = await self._uow.driver()
        await driver.execute(_step_statement(shape), *args)

    async def deadline_passed(self, order_id: UUID) -> bool:
        """Whether the saga has no deadline still ahead of it (by the database's clock):
        the sweeper has not failed it yet, or its timer is gone."""
        driver = await self._uow.driver()
        return not await driver.fetchval(_DEADLINE_AHEAD, order_id, DEADLINE)

    async def claim_due_timers(self, limit: int) -> list[DueTimer]:
        """Due timers no other instance is firing right now, locked until commit."""
        driver = await self._uow.driver()
        rows = await driver.fetch(_CLAIM_DUE, limit)
        return [DueTimer(row[0], row[1], row[2], row[3]) for row in rows]

    async def delete_timer(self, timer: DueTimer) -> None:
        driver = await self._uow.driver()
        await driver.execute(_DELETE_TIMER, timer.order_id, timer.kind)


def _values(saga: OrderSaga) -> list[Any]:
    """The saga's column values in `_COLUMNS` order (its lines as JSON text)."""
    values = [getattr(saga, name) for name in _COLUMNS]
    values[_LINES] = json.dumps([line.model_dump(mode="json") for line in saga.lines])
    return values


_LINES = _COLUMNS.index("lines")


@dataclass(frozen=True)
class _Shape:
    """Which parts one step writes; the statement's text depends on nothing else."""

    save: bool
    transitions: bool
    cancelled: bool
    scheduled: bool
    events: bool


@cache
def _step_statement(shape: _Shape) -> str:
    """The text of `store_step` for `shape`, its parameters in the order `store_step`
    passes them: $1 the order, then each part's own."""
    numbers = iter(range(2, 1000))

    def params(count: int) -> list[str]:
        return [f"${next(numbers)}" for _ in range(count)]

    parts: list[str] = []
    if shape.save:
        columns = _COLUMNS[1:]
        assignments = ", ".join(
            f"{name} = {param}" for name, param in zip(columns, params(len(columns)), strict=True)
        )
        update = f"UPDATE sagas SET {assignments}, updated_at = now() WHERE order_id = $1"  # noqa: S608
        parts.append(update)
    if shape.transitions:
        # In list order: the identities follow it, and the timeline reads them so.
        previous, status, reason, at = params(4)
        parts.append(
            "INSERT INTO saga_transitions (order_id, from_state, to_state, reason, at)"  # noqa: S608
            " SELECT $1::uuid, t.from_state, t.to_state, t.reason, t.at FROM unnest("
            f"{previous}::text[], {status}::text[], {reason}::text[], {at}::timestamptz[])"
            " WITH ORDINALITY AS t(from_state, to_state, reason, at, n) ORDER BY t.n"
        )
    if shape.cancelled:
        (kinds,) = params(1)
        parts.append(
            "DELETE FROM saga_timers"  # noqa: S608
            f" WHERE order_id = $1::uuid AND kind = ANY({kinds}::text[])"
        )
    if shape.scheduled:
        kinds, delays, attempts = params(3)
        parts.append(
            "INSERT INTO saga_timers (order_id, kind, due_at, attempt)"  # noqa: S608
            " SELECT $1::uuid, t.kind, now() + t.delay, t.attempt FROM unnest("
            f"{kinds}::text[], {delays}::interval[], {attempts}::integer[])"
            " AS t(kind, delay, attempt)"
            " ON CONFLICT ON CONSTRAINT pk_saga_timers"
            " DO UPDATE SET due_at = excluded.due_at, attempt = excluded.attempt"
        )
    if shape.events:
        # Last: the main statement, whose RETURNING (the relay's wake-up) surely runs.
        parts.append(outbox_insert(next(numbers)))
    return _one_statement(parts)


def _one_statement(parts: Sequence[str]) -> str:
    """The parts as data-modifying CTEs of the last one."""
    *others, last = parts
    if not others:
        return last
    ctes = ", ".join(f"part_{number} AS ({part})" for number, part in enumerate(others))
    return f"WITH {ctes} {last}"
