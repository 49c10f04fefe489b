"""The order summaries delivery keeps (domain.summaries), in the caller's unit of work."""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_delivery.adapters.orm import order_summaries
from bitloot_delivery.domain.summaries import OrderSummary


async def record_summary(
    session: AsyncConnection,
    order_id: UUID,
    summary: OrderSummary,
    paid_at: datetime | None = None,
) -> bool:
    """Keep the order's summary, and when it was paid; False if one was kept already (an
    order is paid once, so a second payment.finished says nothing new)."""
    statement = (
        pg_insert(order_summaries)
        .values(order_id=order_id, summary=summary.to_json(), paid_at=paid_at)
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def paid_at(session: AsyncConnection, order_id: UUID) -> datetime | None:
    """When the order's payment finished, as payment.finished said (None if unknown)."""
    query = select(order_summaries.c.paid_at).where(order_summaries.c.order_id == order_id)
    found: datetime | None = await session.scalar(query)
    return found


async def summary_of_order(session: AsyncConnection, order_id: UUID) -> OrderSummary | None:
    query = select(order_summaries.c.summary).where(order_summaries.c.order_id == order_id)
    return parse_summary(await session.scalar(query))


def parse_summary(stored: Any) -> OrderSummary | None:
    """A stored summary as read (a dict, or JSON text from the driver), or None."""
    if stored is None:
        return None
    return OrderSummary.from_json(json.loads(stored) if isinstance(stored, str) else stored)
