"""Loading and storing sagas and their timers. A saga is read `FOR UPDATE`, so two
events of one order handled at once by two consumers apply one after the other, never
over each other.

Every statement is plain SQL with `$n` parameters on the unit of work's own asyncpg
connection (`UnitOfWork.driver()`), inside its transaction: each text is prepared once
per connection, and nothing is compiled per call. That matters on the per-order path:
one read and one write per consumed event, the write carrying the saga, its timeline,
its timers and its events at once. Rows of a variable number (transitions, timers,
events) are passed as arrays and expanded with `unnest`, so that the text depends only
on which parts a step has, never on how many rows each part writes (SQLAlchemy
compiled a multi-row VALUES from scratch on every call).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from functools import cache
from typing import Any
from uuid import UUID

from bitloot_contracts.events import ReservationLine
from bitloot_fulfillment.domain.saga import OrderSaga
from bitloot_fulfillment.domain.timers import DEADLINE, DueTimer
from bitloot_fulfillment.handlers.ports import Sagas
from bitloot_runtime.db import UnitOfWork, outbox_arrays, outbox_insert

# The saga's stored columns, in the dataclass's order (`order_id` first).
_STEP = ("pending", "transitions", "timers")  # what one step did, not the saga's state
_COLUMNS = tuple(f.name for f in fields(OrderSaga) if f.name not in _STEP)
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


class SagaRepository(Sagas):
    """The one place of the saga's SQL, on the unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def get_for_update(
        self, order_id: UUID, *, skip_locked: bool = False
    ) -> OrderSaga | None:
        driver = await self._uow.driver()
        row = await driver.fetchrow(_SELECT_SKIP_LOCKED if skip_locked else _SELECT, order_id)
        if row is None:
            return None
        values = dict(zip(_COLUMNS, row, strict=True))
        values["lines"] = tuple(ReservationLine.model_validate(line) for line in row["lines"])
        return OrderSaga(**values)

    async def add(self, saga: OrderSaga) -> bool:
        return await self._store(saga, _INSERT) is not None

    async def idle_for(self, order_id: UUID) -> timedelta | None:
        driver = await self._uow.driver()
        idle: timedelta | None = await driver.fetchval(_IDLE_FOR, order_id)
        return idle

    async def store_step(self, saga: OrderSaga, *, save: bool = True) -> None:
        """Store what one step of the saga did, in one statement: its new values (unless
        `save` is False: unchanged), every transition it made for the order's timeline
        (whether published or not), the timers it set or dropped (due times from the
        database's clock, so that every instance agrees on them) and its events, queued
        in order for publication (the runtime's outbox, as `UnitOfWork.emit` queues
        them). The saga is left with no transition, timer change or event pending.

        The parts touch different rows (a timer kind is either cancelled or scheduled in
        one step, never both: `TimerSet`), so they run as data-modifying CTEs of one
        statement, with the effect of running them one after the other: one round trip
        per step, however many rows it writes.
        """
        await self._store(saga, _UPDATE if save else _NONE)

    async def _store(self, saga: OrderSaga, write: str) -> object:
        """One step in one statement (`_step_statement`): the saga written as `write`
        says, then its transitions, timers and events; the statement's one value (the
        order, for an insert that happened), None if nothing was written."""
        events, changes, timers = saga.pending, saga.transitions, saga.timers
        scheduled = timers.scheduled
        shape = _Shape(write, bool(changes), bool(timers.cancelled), bool(scheduled), bool(events))
        args: list[Any] = _values(saga) if write != _NONE else [saga.order_id]
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
        if len(args) == 1:
            return None
        driver = await self._uow.driver()
        stored = await driver.fetchval(_step_statement(shape), *args)
        self._uow.observe(events)
        timers.clear()
        changes.clear()
        events.clear()
        return stored

    async def deadline_passed(self, order_id: UUID) -> bool:
        driver = await self._uow.driver()
        return not await driver.fetchval(_DEADLINE_AHEAD, order_id, DEADLINE)

    async def claim_due_timers(self, limit: int) -> list[DueTimer]:
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


# How a step writes the saga's own row.
_NONE, _UPDATE, _INSERT = "none", "update", "insert"


@dataclass(frozen=True)
class _Shape:
    """Which parts one step writes; the statement's text depends on nothing else."""

    write: str  # _NONE, _UPDATE or _INSERT
    transitions: bool
    cancelled: bool
    scheduled: bool
    events: bool


@cache
def _step_statement(shape: _Shape) -> str:
    """The text of `_store` for `shape`, its parameters in the order `_store` passes
    them: the saga's columns ($1 the order, alone when the row is not written), then
    each part's own.

    A new saga is inserted first (`ON CONFLICT DO NOTHING`), and every other part
    writes only if that insert did (a row of the `saga` CTE): a second payment event
    for the order writes nothing at all. The statement's value is then that row's
    order; otherwise whatever its main part returns.
    """
    numbers = iter(range(2 if shape.write == _NONE else len(_COLUMNS) + 1, 1000))

    def params(count: int) -> list[str]:
        return [f"${next(numbers)}" for _ in range(count)]

    inserting = shape.write == _INSERT
    # Where each part takes the order from: the inserted row (so nothing is written
    # without it) or the parameter.
    order, source, only_if = (
        ("saga.order_id", "saga, ", "EXISTS (SELECT FROM saga)")
        if inserting
        else ("$1::uuid", "", "true")
    )
    parts: list[tuple[str, str]] = []
    if shape.write == _UPDATE:
        assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(_COLUMNS[1:], 2))
        update = f"UPDATE sagas SET {assignments}, updated_at = now() WHERE order_id = $1"  # noqa: S608
        parts.append(("saga", update))
    if inserting:
        parts.append(("saga", _ADD))
    if shape.transitions:
        # In list order: the identities follow it, and the timeline reads them so.
        previous, status, reason, at = params(4)
        parts.append(
            (
                "transitions",
                "INSERT INTO saga_transitions (order_id, from_state, to_state, reason, at)"  # noqa: S608
                f" SELECT {order}, t.from_state, t.to_state, t.reason, t.at FROM {source}unnest("
                f"{previous}::text[], {status}::text[], {reason}::text[], {at}::timestamptz[])"
                " WITH ORDINALITY AS t(from_state, to_state, reason, at, n) ORDER BY t.n",
            )
        )
    if shape.cancelled:
        (kinds,) = params(1)
        parts.append(
            (
                "cancelled",
                "DELETE FROM saga_timers"  # noqa: S608
                f" WHERE order_id = $1::uuid AND kind = ANY({kinds}::text[]) AND {only_if}",
            )
        )
    if shape.scheduled:
        kinds, delays, attempts = params(3)
        parts.append(
            (
                "scheduled",
                "INSERT INTO saga_timers (order_id, kind, due_at, attempt)"  # noqa: S608
                f" SELECT {order}, t.kind, now() + t.delay, t.attempt FROM {source}unnest("
                f"{kinds}::text[], {delays}::interval[], {attempts}::integer[])"
                " AS t(kind, delay, attempt)"
                " ON CONFLICT ON CONSTRAINT pk_saga_timers"
                " DO UPDATE SET due_at = excluded.due_at, attempt = excluded.attempt",
            )
        )
    if shape.events:
        events = outbox_insert(next(numbers), only_if=only_if if inserting else None)
        parts.append(("events", events))
    if inserting:
        # PostgreSQL runs every data-modifying CTE to completion, RETURNING included
        # (the relay's wake-up), whether or not the main statement reads it.
        parts.append(("main", "SELECT order_id FROM saga"))
    return _one_statement(parts)


def _one_statement(parts: Sequence[tuple[str, str]]) -> str:
    """The named parts as data-modifying CTEs of the last one."""
    *others, (_, last) = parts
    if not others:
        return last
    return "WITH " + ", ".join(f"{name} AS ({part})" for name, part in others) + " " + last
