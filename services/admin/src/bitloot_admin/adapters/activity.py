"""The order_activity projection: what the bus said about each order."""

from dataclasses import asdict
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_admin.adapters.orm import order_activity
from bitloot_admin.domain.refunds import Activity
from bitloot_admin.handlers.ports import OrderActivity


class SqlOrderActivity(OrderActivity):
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def add(self, activity: Activity) -> bool:
        statement = (
            # The activity's fields are the table's columns, by name.
            pg_insert(order_activity)
            .values(asdict(activity))
            .on_conflict_do_nothing(index_elements=[order_activity.c.event_id])
            .returning(order_activity.c.event_id)
        )
        return (await self._db.execute(statement)).first() is not None

    async def of_order(self, order_id: UUID) -> list[Activity]:
        rows = await self._db.execute(
            select(order_activity)
            .where(order_activity.c.order_id == order_id)
            .order_by(order_activity.c.at, order_activity.c.event_id)
        )
        return [Activity(row.event_id, row.order_id, row.topic, row.status, row.at) for row in rows]
