"""Every IPN received, valid or not, with what was made of it."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_payments.adapters.orm import ipn_log


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
    """An IPN as logged (without its body), for an order's timeline."""

    received_at: datetime
    signature_valid: bool
    payment_id: str | None
    status: str | None
    duplicate: bool
    result: str


async def log_ipn(session: AsyncSession, entry: IpnEntry) -> None:
    await session.execute(
        insert(ipn_log).values(
            raw_body=entry.raw_body,
            signature_valid=entry.signature_valid,
            payment_id=entry.payment_id,
            order_id=entry.order_id,
            status=entry.status,
            duplicate=entry.duplicate,
            result=entry.result,
        )
    )


async def seen_before(session: AsyncSession, payment_id: str, status: str) -> bool:
    """Whether an authentic IPN with this payment id and status was already logged."""
    statement = select(
        exists().where(
            ipn_log.c.payment_id == payment_id,
            ipn_log.c.status == status,
            ipn_log.c.signature_valid.is_(True),
        )
    )
    return bool(await session.scalar(statement))


async def ipns_of(session: AsyncSession, order_id: UUID) -> list[LoggedIpn]:
    rows = await session.execute(
        select(
            ipn_log.c.received_at,
            ipn_log.c.signature_valid,
            ipn_log.c.payment_id,
            ipn_log.c.status,
            ipn_log.c.duplicate,
            ipn_log.c.result,
        )
        .where(ipn_log.c.order_id == order_id)
        .order_by(ipn_log.c.id)
    )
    return [LoggedIpn(**row._mapping) for row in rows]
