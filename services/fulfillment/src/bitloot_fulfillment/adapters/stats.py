"""What the admin's home page counts of fulfillment: orders fulfilled and failed per hour,
time-to-key (the saga's start, when payment finished, to fulfilled) per hour and over the
whole window, and the orders that wait for an admin (failed, or stuck past the deadline).

Each figure set is one SQL aggregate: ``date_trunc('hour', ...)`` grouped together with
the whole window (``GROUPING SETS``), and ``percentile_cont`` for p50 and p99, so the
percentiles are PostgreSQL's over every order, never averages of hourly figures.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, RowMapping, cast, extract, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_fulfillment.adapters.orm import saga_transitions, sagas
from bitloot_fulfillment.domain.saga import TERMINAL
from bitloot_fulfillment.domain.stats import Hour, Waiting, WaitingOrders
from bitloot_fulfillment.handlers.ports import Figures

# How many waiting orders of each kind the answer names (the counts are whole).
WAITING_ITEMS = 20
# A failed order whose refund went out needs nobody any more.
_SETTLED_REFUNDS = ("sent", "refunded_outside")


class StatsRepository(Figures):
    """The figures, each one query on the unit of work's connection."""

    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def hourly(self, since: datetime) -> list[Hour]:
        at = saga_transitions.c.at
        hour = func.date_trunc("hour", at)
        done = saga_transitions.c.to_state == "fulfilled"
        seconds = cast(extract("epoch", at - sagas.c.created_at), Float)

        def percentile(share: float) -> Any:
            return func.percentile_cont(share).within_group(seconds).filter(done)

        query = (
            select(
                hour.label("hour"),
                func.count().filter(done).label("fulfilled"),
                func.count().filter(saga_transitions.c.to_state == "failed").label("failed"),
                percentile(0.5).label("p50"),
                percentile(0.99).label("p99"),
            )
            .select_from(
                saga_transitions.join(sagas, sagas.c.order_id == saga_transitions.c.order_id)
            )
            .where(saga_transitions.c.to_state.in_(("fulfilled", "failed")), at >= since)
            .group_by(func.grouping_sets(tuple_(hour), tuple_()))
            .order_by(hour.nulls_last())
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [_hour(row) for row in rows]

    async def failed_orders(self) -> WaitingOrders:
        settled = sagas.c.refund_status.in_(_SETTLED_REFUNDS)
        return await self._waiting(sagas.c.state == "failed", ~settled.is_(True))

    async def stuck_orders(self, deadline: timedelta) -> WaitingOrders:
        idle = sagas.c.updated_at <= func.now() - deadline
        return await self._waiting(sagas.c.state.not_in(TERMINAL), idle)

    async def _waiting(self, *where: Any) -> WaitingOrders:
        query = (
            select(sagas.c.order_id, sagas.c.state, sagas.c.failure_stage, sagas.c.updated_at)
            .add_columns(func.count().over().label("total"))
            .where(*where)
            .order_by(sagas.c.updated_at.desc(), sagas.c.order_id)
            .limit(WAITING_ITEMS)
        )
        rows = (await self._session.execute(query)).mappings().all()
        items = [
            Waiting(row["order_id"], row["state"], row["failure_stage"], row["updated_at"])
            for row in rows
        ]
        return WaitingOrders(rows[0]["total"] if rows else 0, items)


def _hour(row: RowMapping) -> Hour:
    return Hour(row["hour"], row["fulfilled"], row["failed"], row["p50"], row["p99"])
