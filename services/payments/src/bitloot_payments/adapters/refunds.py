"""Refunds due: money an admin decided goes back to the customer."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def record_refund(session: AsyncSession, refund: Refund) -> int:
    refund_id = await session.scalar(
        insert(refunds)
        .values(
            order_id=refund.order_id,
            payment_id=refund.payment_id,
            flag_id=refund.flag_id,
            amount=refund.amount,
            currency=refund.currency,
            reason=refund.reason,
            status=refund.status,
            requested_by=refund.requested_by,
            note=refund.note,
            cause=refund.cause,
        )
        .returning(refunds.c.id)
    )
    return int(refund_id or 0)


async def list_refunds(
    session: AsyncSession,
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
