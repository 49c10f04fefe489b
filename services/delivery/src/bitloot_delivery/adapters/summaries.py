"""The order summaries delivery keeps (domain.summaries), in the caller's unit of work."""

import json
from datetime import datetime
from uuid import UUID

from pydantic import JsonValue
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bitloot_delivery.adapters.orm import order_summaries
from bitloot_delivery.domain.summaries import OrderSummary
from bitloot_delivery.handlers.ports import Summaries
from bitloot_runtime.db import UnitOfWork


class SummaryRepository(Summaries):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def record(
        self, order_id: UUID, summary: OrderSummary, paid_at: datetime | None = None
    ) -> bool:
        """An order is paid once, so a second payment.finished says nothing new."""
        statement = (
            pg_insert(order_summaries)
            .values(order_id=order_id, summary=summary.to_json(), paid_at=paid_at)
            .on_conflict_do_nothing()
        )
        result = await self._uow.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def paid_at(self, order_id: UUID) -> datetime | None:
        query = select(order_summaries.c.paid_at).where(order_summaries.c.order_id == order_id)
        found: datetime | None = await self._uow.session.scalar(query)
        return found

    async def of_order(self, order_id: UUID) -> OrderSummary | None:
        query = select(order_summaries.c.summary).where(order_summaries.c.order_id == order_id)
        return parse_summary(await self._uow.session.scalar(query))


def parse_summary(stored: JsonValue) -> OrderSummary | None:
    """A stored summary as read (an object, or JSON text from the driver), or None."""
    if stored is None:
        return None
    decoded = json.loads(stored) if isinstance(stored, str) else stored
    assert isinstance(decoded, dict)
    return OrderSummary.from_json(decoded)
