"""Every IPN received, valid or not, with what was made of it.

An authentic IPN is stored `pending` (no `processed_at`) and answered at once; the IPN
processor claims pending rows with ``FOR UPDATE SKIP LOCKED`` and records its result.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_payments.adapters.orm import ipn_log

PENDING = "pending"


@dataclass(frozen=True)
class IpnEntry:
    """One IPN as received: `payment_id`, `order_id` and `status` as the body claims."""

    raw_body: bytes
    signature_valid: bool
    result: str
    payment_id: str | None = None
    order_id: UUID | None = None
    status: str | None = None
    duplicate: bool = False


@dataclass(frozen=True)
class LoggedIpn:
    """An IPN as logged; `processed_at` None while it waits for the processor."""

    id: int
    received_at: datetime
    signature_valid: bool
    payment_id: str | None
    order_id: UUID | None
    status: str | None
    duplicate: bool
    result: str
    processed_at: datetime | None
    raw_body: bytes


@dataclass(frozen=True)
class IpnFilter:
    """Which logged IPNs to list (each None: any)."""

    order_id: UUID | None = None
    payment_id: str | None = None
    result: str | None = None
    signature_valid: bool | None = None
    since: datetime | None = None
    until: datetime | None = None


async def log_ipn(session: AsyncSession, entry: IpnEntry) -> int:
    """Store `entry`; a result of `PENDING` leaves it for the processor. Its id."""
    pending = entry.result == PENDING
    row_id = await session.scalar(
        insert(ipn_log)
        .values(
            raw_body=entry.raw_body,
            signature_valid=entry.signature_valid,
            payment_id=entry.payment_id,
            order_id=entry.order_id,
            status=entry.status,
            duplicate=entry.duplicate,
            result=entry.result,
            processed_at=None if pending else func.now(),
        )
        .returning(ipn_log.c.id)
    )
    return int(row_id or 0)


async def claim_pending(session: AsyncSession) -> LoggedIpn | None:
    """The oldest pending IPN no other transaction holds, locked until this one ends."""
    statement = (
        select(ipn_log)
        .where(ipn_log.c.processed_at.is_(None))
        .order_by(ipn_log.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = (await session.execute(statement)).first()
    return LoggedIpn(**row._mapping) if row else None


async def mark_processed(session: AsyncSession, ipn_id: int, result: str, duplicate: bool) -> None:
    await session.execute(
        update(ipn_log)
        .where(ipn_log.c.id == ipn_id)
        .values(result=result, duplicate=duplicate, processed_at=func.now())
    )


async def list_ipns(
    session: AsyncSession, which: IpnFilter, *, limit: int, before_id: int | None = None
) -> list[LoggedIpn]:
    """Logged IPNs newest first, matching `which`, with ids below `before_id`."""
    statement = select(ipn_log).order_by(ipn_log.c.id.desc()).limit(limit)
    conditions = {
        ipn_log.c.order_id: which.order_id,
        ipn_log.c.payment_id: which.payment_id,
        ipn_log.c.result: which.result,
        ipn_log.c.signature_valid: which.signature_valid,
    }
    for column, value in conditions.items():
        if value is not None:
            statement = statement.where(column == value)
    if which.since is not None:
        statement = statement.where(ipn_log.c.received_at >= which.since)
    if which.until is not None:
        statement = statement.where(ipn_log.c.received_at < which.until)
    if before_id is not None:
        statement = statement.where(ipn_log.c.id < before_id)
    return [LoggedIpn(**row._mapping) for row in await session.execute(statement)]


async def ipns_of(session: AsyncSession, order_id: UUID) -> list[LoggedIpn]:
    """An order's IPNs, oldest first."""
    newest_first = await list_ipns(session, IpnFilter(order_id=order_id), limit=1000)
    return newest_first[::-1]
