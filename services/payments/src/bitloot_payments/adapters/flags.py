"""Flags: what the payment rules could not settle alone and an admin must look at, and
what the admin decided."""

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_payments.adapters.orm import flags

OPEN = "open"


@dataclass(frozen=True)
class Flag:
    """One thing for an admin: `kind` (``partially_paid``, ``redeposit``, …) and why;
    `status` ``open`` until an admin resolves it (`resolved_by`, `resolved_at`, `note`)."""

    kind: str
    detail: str
    order_id: UUID | None = None
    payment_id: str | None = None
    ipn_id: int | None = None
    id: int = 0
    created_at: datetime | None = None
    # The amounts behind it (price, pay amount, actually paid, the difference), as text.
    data: dict[str, str | None] = field(default_factory=dict)
    status: str = OPEN
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None


async def raise_flag(session: AsyncConnection, flag: Flag) -> None:
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


async def load_flag(session: AsyncConnection, flag_id: int, *, lock: bool = False) -> Flag | None:
    """The flag, or None; with `lock`, held FOR UPDATE until the transaction ends (so two
    admins resolving it at once take turns, and the second finds it resolved)."""
    statement = select(flags).where(flags.c.id == flag_id)
    if lock:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).first()
    return Flag(**row._mapping) if row else None


async def resolve_flag(
    session: AsyncConnection, flag_id: int, status: str, actor: str, note: str | None
) -> None:
    await session.execute(
        update(flags)
        .where(flags.c.id == flag_id)
        .values(status=status, resolved_by=actor, resolved_at=func.now(), note=note)
    )


async def resolve_ipn_flags(
    session: AsyncConnection, ipn_id: int, kind: str, status: str, actor: str
) -> None:
    """Resolve the open flags of `kind` raised for one IPN."""
    await session.execute(
        update(flags)
        .where(flags.c.ipn_id == ipn_id, flags.c.kind == kind, flags.c.status == OPEN)
        .values(status=status, resolved_by=actor, resolved_at=func.now())
    )


async def list_flags(
    session: AsyncConnection,
    *,
    limit: int,
    order_id: UUID | None = None,
    payment_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    before_id: int | None = None,
) -> list[Flag]:
    """Flags newest first, optionally only those of one order, payment, kind or status."""
    statement = select(flags).order_by(flags.c.id.desc()).limit(limit)
    conditions = {
        flags.c.order_id: order_id,
        flags.c.payment_id: payment_id,
        flags.c.kind: kind,
        flags.c.status: status,
    }
    for column, value in conditions.items():
        if value is not None:
            statement = statement.where(column == value)
    if before_id is not None:
        statement = statement.where(flags.c.id < before_id)
    return [Flag(**row._mapping) for row in await session.execute(statement)]
