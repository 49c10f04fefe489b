"""What the admin's home page counts of payments: orders placed, paid and failed and
refunds falling due, per hour, and what is open now (flags, refunds still owed).

Each figure set is one SQL aggregate (``date_trunc('hour', ...)`` with ``count(*)``), so
a week of orders is summed by PostgreSQL, never row by row here.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select, union_all

from bitloot_payments.adapters.orm import SqlRepository, flags, orders, refunds
from bitloot_payments.domain.refunds import NOTHING_PAID
from bitloot_payments.handlers.ports import SERIES, Figures, OpenItem, OpenItems

# Order statuses of an order whose payment window closed without payment.
_FAILED = ("failed", "expired")
# How many open items of each kind the answer names (the counts are whole).
OPEN_ITEMS = 20


def _per_hour(name: str, at: ColumnElement[Any], *where: ColumnElement[bool]) -> Select[Any]:
    hour = func.date_trunc("hour", at)
    return (
        select(literal(name).label("series"), hour.label("hour"), func.count().label("n"))
        .where(*where)
        .group_by(hour)
    )


class SqlFigures(SqlRepository, Figures):
    async def hourly(self, since: datetime) -> dict[datetime, dict[str, int]]:
        # When the order failed by our clock (`closed_at` is NOWPayments'); a failed order
        # changes no more.
        closed = orders.c.updated_at
        query = union_all(
            _per_hour("placed", orders.c.created_at, orders.c.created_at >= since),
            _per_hour("paid", orders.c.paid_at, orders.c.paid_at >= since),
            _per_hour("failed", closed, orders.c.status.in_(_FAILED), closed >= since),
            _per_hour("refunds_due", refunds.c.created_at, refunds.c.created_at >= since),
        )
        found: dict[datetime, dict[str, int]] = {}
        for row in (await self._uow.session.execute(query)).mappings():
            found.setdefault(row["hour"], dict.fromkeys(SERIES, 0))[row["series"]] = row["n"]
        return found

    async def open_flags(self) -> OpenItems:
        query = (
            select(flags.c.id, flags.c.order_id, flags.c.kind, flags.c.created_at.label("at"))
            .add_columns(func.count().over().label("total"))
            .where(flags.c.status == "open")
            .order_by(flags.c.id.desc())
            .limit(OPEN_ITEMS)
        )
        return _open_items((await self._uow.session.execute(query)).mappings().all())

    async def refunds_owed(self) -> OpenItems:
        query = (
            select(refunds.c.id, refunds.c.order_id, refunds.c.status.label("kind"))
            .add_columns(refunds.c.created_at.label("at"), func.count().over().label("total"))
            .where(refunds.c.status.in_(sorted(NOTHING_PAID)))
            .order_by(refunds.c.id.desc())
            .limit(OPEN_ITEMS)
        )
        return _open_items((await self._uow.session.execute(query)).mappings().all())


def _open_items(rows: Any) -> OpenItems:
    items = [OpenItem(row["id"], row["order_id"], row["kind"], row["at"]) for row in rows]
    return OpenItems(rows[0]["total"] if rows else 0, items)
