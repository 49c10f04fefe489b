"""Refunds: money owed back to a customer, and where each stands (`domain.refunds`)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_payments.adapters.orm import refunds


@dataclass(frozen=True)
class Refund:
    """An amount (in the currency the customer paid in) owed back, and why."""

    order_id: UUID
    amount: Decimal
    currency: str
    reason: str
    requested_by: str
    payment_id: str | None = None
    flag_id: int | None = None
    note: str | None = None
    status: str = "due"
    id: int = 0
    created_at: datetime | None = None
    cause: str | None = None
    payout_address: str | None = None
    payout_extra_id: str | None = None
    claimed_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    transaction_id: str | None = None
    error: str | None = None
    updated_at: datetime | None = None


def _row(refund: Refund) -> dict[str, Any]:
    """The columns a new refund is recorded with (the rest come with its life)."""
    return {
        "order_id": refund.order_id,
        "payment_id": refund.payment_id,
        "flag_id": refund.flag_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "reason": refund.reason,
        "status": refund.status,
        "requested_by": refund.requested_by,
        "note": refund.note,
        "cause": refund.cause,
    }


async def record_refund(session: AsyncConnection, refund: Refund) -> int:
    """Record the refund an admin decided on a flag; its id."""
    refund_id = await session.scalar(insert(refunds).values(**_row(refund)).returning(refunds.c.id))
    return int(refund_id or 0)


async def record_whole_order_refund(session: AsyncConnection, refund: Refund) -> int | None:
    """Record `refund` (one that names no flag: a failed order, unrevealed keys) unless
    the order already has one for the same reason; its id, or None if it had."""
    refund_id = await session.scalar(
        pg_insert(refunds)
        .values(**_row(refund))
        .on_conflict_do_nothing(
            index_elements=[refunds.c.order_id, refunds.c.reason],
            index_where=text("flag_id IS NULL"),
        )
        .returning(refunds.c.id)
    )
    return int(refund_id) if refund_id is not None else None


async def load_refund(
    session: AsyncConnection, refund_id: int, *, lock: bool = False
) -> Refund | None:
    """The refund, or None; with `lock`, held FOR UPDATE until the transaction ends (two
    admins, or an admin and the customer, deciding at once take turns)."""
    statement = select(refunds).where(refunds.c.id == refund_id)
    if lock:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).first()
    return Refund(**row._mapping) if row else None


async def refunds_of_order(
    session: AsyncConnection, order_id: UUID, *, lock: bool = False
) -> list[Refund]:
    """The order's refunds, oldest first; with `lock`, each held until the transaction ends."""
    statement = select(refunds).where(refunds.c.order_id == order_id).order_by(refunds.c.id)
    if lock:
        statement = statement.with_for_update()
    return [Refund(**row._mapping) for row in await session.execute(statement)]


async def refunds_of_orders(
    session: AsyncConnection, order_ids: list[UUID]
) -> dict[UUID, list[Refund]]:
    """The refunds of each of `order_ids`, oldest first (one query for a page of orders)."""
    found: dict[UUID, list[Refund]] = {}
    if not order_ids:
        return found
    statement = select(refunds).where(refunds.c.order_id.in_(order_ids)).order_by(refunds.c.id)
    for row in await session.execute(statement):
        refund = Refund(**row._mapping)
        found.setdefault(refund.order_id, []).append(refund)
    return found


async def move_refund(
    session: AsyncConnection, refund_id: int, status: str, **changes: Any
) -> Refund:
    """The refund in `status` with `changes` (claimed_at, decided_by…) stored; the row must
    be locked by the caller, who checked the move (`domain.refunds`)."""
    row = (
        await session.execute(
            update(refunds)
            .where(refunds.c.id == refund_id)
            .values(status=status, updated_at=func.now(), **changes)
            .returning(*refunds.c)
        )
    ).one()
    return Refund(**row._mapping)


async def list_refunds(
    session: AsyncConnection,
    *,
    limit: int,
    order_id: UUID | None = None,
    status: str | None = None,
    before_id: int | None = None,
) -> list[Refund]:
    """Refunds newest first, optionally those of one order or in one status."""
    statement = select(refunds).order_by(refunds.c.id.desc()).limit(limit)
    if order_id is not None:
        statement = statement.where(refunds.c.order_id == order_id)
    if status is not None:
        statement = statement.where(refunds.c.status == status)
    if before_id is not None:
        statement = statement.where(refunds.c.id < before_id)
    return [Refund(**row._mapping) for row in await session.execute(statement)]
