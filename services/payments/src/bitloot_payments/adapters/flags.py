"""Flags: what the payment rules could not settle alone and an admin must look at."""

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_payments.adapters.orm import flags


@dataclass(frozen=True)
class Flag:
    """One thing for an admin: `kind` (``partially_paid``, ``redeposit``, …) and why."""

    kind: str
    detail: str
    order_id: UUID | None = None
    payment_id: str | None = None
    ipn_id: int | None = None
    id: int = 0
    created_at: datetime | None = None
    # The amounts behind it (price, pay amount, actually paid, the difference), as text.
    data: dict[str, str | None] = field(default_factory=dict)


async def raise_flag(session: AsyncSession, flag: Flag) -> None:
    await session.execute(
        insert(flags).values(
            kind=flag.kind,
            detail=flag.detail,
            order_id=flag.order_id,
            payment_id=flag.payment_id,
            ipn_id=flag.ipn_id,
            data=flag.data,
        )
    )


async def list_flags(
    session: AsyncSession,
    *,
    limit: int,
    order_id: UUID | None = None,
    payment_id: str | None = None,
    kind: str | None = None,
    before_id: int | None = None,
) -> list[Flag]:
    """Flags newest first, optionally only those of one order, payment or kind."""
    statement = select(flags).order_by(flags.c.id.desc()).limit(limit)
    for column, value in ((flags.c.order_id, order_id), (flags.c.payment_id, payment_id)):
        if value is not None:
            statement = statement.where(column == value)
    if kind is not None:
        statement = statement.where(flags.c.kind == kind)
    if before_id is not None:
        statement = statement.where(flags.c.id < before_id)
    return [Flag(**row._mapping) for row in await session.execute(statement)]
