"""The order_activity projection: what the bus said about each order."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bitloot_admin.adapters.orm import order_activity


@dataclass(frozen=True)
class Activity:
    event_id: UUID
    order_id: UUID
    topic: str
    status: str
    at: datetime


async def record(session: AsyncConnection, activity: Activity) -> bool:
    """Add `activity` unless its event is already recorded; True if it was new."""
    statement = (
        pg_insert(order_activity)
        .values(
            event_id=activity.event_id,
            order_id=activity.order_id,
            topic=activity.topic,
            status=activity.status,
            at=activity.at,
        )
        .on_conflict_do_nothing(index_elements=[order_activity.c.event_id])
        .returning(order_activity.c.event_id)
    )
    return (await session.execute(statement)).first() is not None


async def of_order(
    sessionmaker: async_sessionmaker[AsyncSession], order_id: UUID
) -> list[Activity]:
    """The recorded activity of one order, oldest first."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(order_activity)
            .where(order_activity.c.order_id == order_id)
            .order_by(order_activity.c.at, order_activity.c.event_id)
        )
        return [Activity(row.event_id, row.order_id, row.topic, row.status, row.at) for row in rows]
