"""Reading and writing reservations."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_kinguin_gateway.adapters.orm import reservations


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
    created_at: datetime
    updated_at: datetime


class ReservationRepository:
    def __init__(self, session: AsyncSession) -> None:
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
        await self._session.execute(
            pg_insert(reservations)
            .values(order_id=order_id, state="placing", lines=lines)
            .on_conflict_do_nothing()
        )
        found = await self.get(order_id)
        assert found is not None  # inserted above or already there
        return found

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
        """The reservation of a Kinguin order, by its id or by ours; locked for update."""
        conditions = []
        if kinguin_order_id:
            conditions.append(reservations.c.kinguin_order_id == kinguin_order_id)
        if order_id is not None:
            conditions.append(reservations.c.order_id == order_id)
        if not conditions:
            return None
        query = select(reservations).where(or_(*conditions)).limit(1).with_for_update()
        return await self._one(query)

    async def mark_placed(self, order_id: UUID, kinguin_order_id: str, status: str) -> None:
        # A webhook may already have recorded a later status for the order.
        await self._update(
            order_id,
            state="placed",
            kinguin_order_id=kinguin_order_id,
            kinguin_status=func.coalesce(reservations.c.kinguin_status, status),
            settled_at=func.clock_timestamp(),
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
        await self._update(order_id, **values)

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
