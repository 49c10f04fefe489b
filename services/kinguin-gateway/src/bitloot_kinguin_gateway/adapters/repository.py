"""Reading and writing reservations."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Text, Uuid, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bitloot_kinguin_gateway.adapters.orm import kinguin_orders, reservations
from bitloot_kinguin_gateway.domain.reservation import external_id


@dataclass(frozen=True)
class ReservationFilter:
    """What to list: every field given must match."""

    state: str | None = None
    order_id: UUID | None = None
    reservation_id: UUID | None = None


@dataclass(frozen=True)
class Reservation:
    order_id: UUID
    reservation_id: UUID
    state: str
    lines: list[dict[str, Any]]
    kinguin_order_id: str | None
    kinguin_status: str | None
    kinguin_updated_at: datetime | None
    customer_email: str | None
    failure_code: str | None
    failure_reason: str | None
    settled_at: datetime | None
    keys_sealed_at: datetime | None
    keys_count: int | None
    attempt: int
    created_at: datetime
    updated_at: datetime

    @property
    def external_id(self) -> str:
        """The orderExternalId of the current attempt."""
        return external_id(self.order_id, self.attempt)


@dataclass(frozen=True)
class Attempt:
    """One orderExternalId used for an order, and what Kinguin made of it."""

    external_id: str
    order_id: UUID
    attempt: int
    kinguin_order_id: str | None
    kinguin_status: str | None


class ReservationRepository:
    def __init__(self, session: AsyncConnection | AsyncSession) -> None:
        self._session = session

    async def lock_order(self, order_id: UUID) -> None:
        """Serialise, until this transaction ends, every handler working on the order:
        two different requests for one order must not both find it absent at Kinguin."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"reservation:{order_id}"},
        )

    async def add_placing(self, order_id: UUID, lines: list[dict[str, Any]]) -> Reservation:
        """The order's reservation, created in state `placing` if it had none."""
        reservation, _ = await self.open(order_id, lines)
        return reservation

    async def open(self, order_id: UUID, lines: list[dict[str, Any]]) -> tuple[Reservation, bool]:
        """The order's reservation, created in state `placing` with its first external id
        if it had none; and whether this call created it. One statement when it does."""
        first_attempt = (
            pg_insert(kinguin_orders)
            .values(external_id=external_id(order_id, 1), order_id=order_id, attempt=1)
            .on_conflict_do_nothing()
            .cte("first_attempt")
        )
        created = (
            pg_insert(reservations)
            .values(order_id=order_id, state="placing", lines=lines)
            .on_conflict_do_nothing()
            .returning(*reservations.c)
            .add_cte(first_attempt)
        )
        row = (await self._session.execute(created)).mappings().first()
        if row is not None:
            return Reservation(**dict(row)), True
        found = await self.get(order_id)
        assert found is not None  # inserted before, since it conflicted
        return found, False

    async def attempts(self, order_id: UUID) -> list[Attempt]:
        """Every external id used for the order, first attempt first."""
        query = (
            select(kinguin_orders)
            .where(kinguin_orders.c.order_id == order_id)
            .order_by(kinguin_orders.c.attempt)
        )
        rows = (await self._session.execute(query)).mappings()
        return [Attempt(**{k: v for k, v in row.items() if k != "created_at"}) for row in rows]

    async def start_attempt(self, order_id: UUID) -> Reservation:
        """Record a new external id for the order and make it the current attempt,
        `placing` again with nothing known about it: before any call uses it."""
        latest = await self._session.scalar(
            select(func.max(kinguin_orders.c.attempt)).where(kinguin_orders.c.order_id == order_id)
        )
        attempt = (latest or 1) + 1
        await self._session.execute(
            pg_insert(kinguin_orders).values(
                external_id=external_id(order_id, attempt), order_id=order_id, attempt=attempt
            )
        )
        await self._update(
            order_id,
            state="placing",
            attempt=attempt,
            kinguin_order_id=None,
            kinguin_status=None,
            kinguin_updated_at=None,
            failure_code=None,
            failure_reason=None,
            settled_at=None,
        )
        found = await self.get(order_id)
        assert found is not None  # the caller holds the order's lock
        return found

    async def attempt_of(
        self, kinguin_order_id: str | None, order_external_id: str | None
    ) -> Attempt | None:
        """The attempt a Kinguin order belongs to, by its id or else by our external id.

        Each is a seek on its own unique index: an OR of the two lets the planner scan."""
        conditions: list[ColumnElement[Any]] = []
        if kinguin_order_id:
            by_kinguin_id = (
                select(kinguin_orders.c.external_id)
                .where(kinguin_orders.c.kinguin_order_id == kinguin_order_id)
                .scalar_subquery()
            )
            conditions.append(by_kinguin_id)
        if order_external_id:
            conditions.append(literal(order_external_id, Text))
        if not conditions:
            return None
        key = conditions[0] if len(conditions) == 1 else func.coalesce(*conditions)
        query = select(kinguin_orders).where(kinguin_orders.c.external_id == key)
        row = (await self._session.execute(query)).mappings().first()
        if row is None:
            return None
        return Attempt(**{k: v for k, v in row.items() if k != "created_at"})

    async def record_attempt_status(
        self, attempt: Attempt, kinguin_order_id: str, status: str
    ) -> None:
        """What Kinguin said about one attempt's order (current or superseded)."""
        await self._session.execute(
            update(kinguin_orders)
            .where(kinguin_orders.c.external_id == attempt.external_id)
            .values(
                kinguin_order_id=func.coalesce(kinguin_orders.c.kinguin_order_id, kinguin_order_id),
                kinguin_status=status,
            )
        )

    async def get(self, order_id: UUID, *, for_update: bool = False) -> Reservation | None:
        query = select(reservations).where(reservations.c.order_id == order_id)
        return await self._one(query.with_for_update() if for_update else query)

    async def by_reservation_id(self, reservation_id: UUID) -> Reservation | None:
        return await self._one(
            select(reservations).where(reservations.c.reservation_id == reservation_id)
        )

    async def search(
        self, matching: ReservationFilter, *, limit: int, offset: int
    ) -> list[Reservation]:
        """Reservations matching `matching`, newest first."""
        query = select(reservations)
        if matching.state is not None:
            query = query.where(reservations.c.state == matching.state)
        if matching.order_id is not None:
            query = query.where(reservations.c.order_id == matching.order_id)
        if matching.reservation_id is not None:
            query = query.where(reservations.c.reservation_id == matching.reservation_id)
        query = query.order_by(reservations.c.created_at.desc(), reservations.c.order_id)
        rows = (await self._session.execute(query.limit(limit).offset(offset))).mappings()
        return [Reservation(**dict(row)) for row in rows]

    async def find(self, kinguin_order_id: str | None, order_id: UUID | None) -> Reservation | None:
        """The reservation of a Kinguin order, by its id or else by ours; locked for update.

        Each is a seek on its own unique index: an OR of the two lets the planner scan."""
        conditions: list[ColumnElement[Any]] = []
        if kinguin_order_id:
            by_kinguin_id = (
                select(reservations.c.order_id)
                .where(reservations.c.kinguin_order_id == kinguin_order_id)
                .scalar_subquery()
            )
            conditions.append(by_kinguin_id)
        if order_id is not None:
            conditions.append(literal(order_id, Uuid))
        if not conditions:
            return None
        key = conditions[0] if len(conditions) == 1 else func.coalesce(*conditions)
        query = select(reservations).where(reservations.c.order_id == key).with_for_update()
        return await self._one(query)

    async def mark_placed(
        self, order_id: UUID, kinguin_order_id: str, status: str, *, attempt: Attempt | None = None
    ) -> None:
        """The order is bought: by the current attempt, or by an earlier `attempt` found
        live at Kinguin (which becomes the current one again)."""
        values: dict[str, object] = {}
        if attempt is not None:
            values = {"attempt": attempt.attempt, "kinguin_status": status}
        else:
            # A webhook may already have recorded a later status for the order.
            values = {"kinguin_status": func.coalesce(reservations.c.kinguin_status, status)}
        placed: dict[str, object] = {
            "state": "placed",
            "kinguin_order_id": kinguin_order_id,
            "settled_at": func.clock_timestamp(),
            "failure_code": None,
            "failure_reason": None,
            **values,
        }
        if attempt is not None:
            await self._update(order_id, **placed)
            await self.record_attempt_status(attempt, kinguin_order_id, status)
            return
        # The current attempt's row, in the same statement (one round trip per order).
        current = (
            update(reservations)
            .where(reservations.c.order_id == order_id)
            .values(**placed, updated_at=func.clock_timestamp())
            .returning(reservations.c.attempt)
            .cte("placed")
        )
        await self._session.execute(
            update(kinguin_orders)
            .where(
                kinguin_orders.c.order_id == order_id,
                kinguin_orders.c.attempt == select(current.c.attempt).scalar_subquery(),
            )
            .values(
                kinguin_order_id=func.coalesce(kinguin_orders.c.kinguin_order_id, kinguin_order_id),
                kinguin_status=status,
            )
        )

    async def mark_failed(self, order_id: UUID, code: str, reason: str) -> None:
        await self._update(
            order_id,
            state="failed",
            failure_code=code,
            failure_reason=reason,
            settled_at=func.clock_timestamp(),
        )

    async def record_status(
        self, order_id: UUID, kinguin_order_id: str, status: str, at: datetime | None
    ) -> None:
        values: dict[str, object] = {
            "kinguin_order_id": func.coalesce(reservations.c.kinguin_order_id, kinguin_order_id),
            "kinguin_status": status,
        }
        if at is not None:
            values["kinguin_updated_at"] = at
        # Both rows in one statement (one round trip per webhook).
        recorded = (
            update(reservations)
            .where(reservations.c.order_id == order_id)
            .values(**values, updated_at=func.clock_timestamp())
            .cte("recorded")
        )
        await self._session.execute(
            update(kinguin_orders)
            .where(kinguin_orders.c.kinguin_order_id == kinguin_order_id)
            .values(kinguin_status=status)
            .add_cte(recorded)
        )

    async def record_keys(self, order_id: UUID, count: int, email: str) -> None:
        await self._update(
            order_id, keys_sealed_at=func.clock_timestamp(), keys_count=count, customer_email=email
        )

    async def _update(self, order_id: UUID, **values: object) -> None:
        # clock_timestamp, not now(): the consumer's transaction began before the
        # `placing` row was committed in a transaction of its own, and the timeline must
        # show the steps in the order they happened.
        await self._session.execute(
            update(reservations)
            .where(reservations.c.order_id == order_id)
            .values(**values, updated_at=func.clock_timestamp())
        )

    async def _one(self, query: Any) -> Reservation | None:
        row = (await self._session.execute(query)).mappings().first()
        return None if row is None else Reservation(**dict(row))
