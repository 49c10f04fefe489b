"""What the admin's home page counts of payments: orders placed, paid and failed and
refunds falling due, per hour, and what is open now (flags, refunds still owed).

Each figure set is one SQL aggregate (``date_trunc('hour', ...)`` with ``count(*)``), so
a week of orders is summed by PostgreSQL, never row by row here.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_payments.adapters.orm import flags, orders, refunds
from bitloot_payments.domain.refunds import NOTHING_PAID

# The series per hour, each a column of the answer's ``hours``.
SERIES = ("placed", "paid", "failed", "refunds_due")
# Order statuses of an order whose payment window closed without payment.
_FAILED = ("failed", "expired")
# How many open items of each kind the answer names (the counts are whole).
OPEN_ITEMS = 20


@dataclass(frozen=True)
class OpenItem:
    """An open flag or a refund still owed: what the admin's "needs action" links to."""

    id: int
    order_id: UUID | None
    kind: str
    at: datetime


@dataclass(frozen=True)
class OpenItems:
    count: int
    items: list[OpenItem]


def _per_hour(name: str, at: ColumnElement[Any], *where: ColumnElement[bool]) -> Select[Any]:
    hour = func.date_trunc("hour", at)
    return (
        select(literal(name).label("series"), hour.label("hour"), func.count().label("n"))
        .where(*where)
        .group_by(hour)
    )


async def hourly(session: AsyncConnection, since: datetime) -> dict[datetime, dict[str, int]]:
    """Each hour from `since` with something in it: how many of each `SERIES` fell in it."""
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
    for row in (await session.execute(query)).mappings():
        found.setdefault(row["hour"], dict.fromkeys(SERIES, 0))[row["series"]] = row["n"]
    return found


async def open_flags(session: AsyncConnection) -> OpenItems:
    """Flags no admin has decided yet: how many, and the newest."""
    query = (
        select(flags.c.id, flags.c.order_id, flags.c.kind, flags.c.created_at.label("at"))
        .add_columns(func.count().over().label("total"))
        .where(flags.c.status == "open")
        .order_by(flags.c.id.desc())
        .limit(OPEN_ITEMS)
    )
    return _open_items((await session.execute(query)).mappings().all())


async def refunds_owed(session: AsyncConnection) -> OpenItems:
    """Refunds owed with nothing paid yet (due, claimed, or whose payout failed)."""
    query = (
        select(refunds.c.id, refunds.c.order_id, refunds.c.status.label("kind"))
        .add_columns(refunds.c.created_at.label("at"), func.count().over().label("total"))
        .where(refunds.c.status.in_(sorted(NOTHING_PAID)))
        .order_by(refunds.c.id.desc())
        .limit(OPEN_ITEMS)
    )
    return _open_items((await session.execute(query)).mappings().all())


def _open_items(rows: Any) -> OpenItems:
    items = [OpenItem(row["id"], row["order_id"], row["kind"], row["at"]) for row in rows]
    return OpenItems(rows[0]["total"] if rows else 0, items)
