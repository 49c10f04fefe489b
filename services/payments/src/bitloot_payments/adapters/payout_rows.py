"""The `payouts` and `payout_ipns` tables, and the refund rows a payout moves.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so that several instances may run the
payout runner: each refund or payout is worked on by one of them at a time.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_payments.adapters.orm import orders, payout_ipns, payouts, refunds


@dataclass(frozen=True)
class RefundToPay:
    """A refund as its payout needs it, with the customer's email for its events."""

    id: int
    order_id: UUID
    status: str
    amount: Decimal
    currency: str
    reason: str
    cause: str | None
    payout_address: str | None
    payout_extra_id: str | None
    email: str


@dataclass(frozen=True)
class PayoutRow:
    """One payout attempt of a refund."""

    id: int
    refund_id: int
    attempt: int
    unique_external_id: str
    status: str
    provider_payout_id: str | None
    batch_id: str | None
    address: str
    extra_id: str | None
    currency: str
    amount: Decimal
    hash: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime


def _refund_query() -> Select[Any]:
    return (
        select(
            refunds.c.id,
            refunds.c.order_id,
            refunds.c.status,
            refunds.c.amount,
            refunds.c.currency,
            refunds.c.reason,
            refunds.c.cause,
            refunds.c.payout_address,
            refunds.c.payout_extra_id,
            orders.c.email,
        )
        .join(orders, orders.c.order_id == refunds.c.order_id)
        .with_for_update(of=refunds, skip_locked=True)
    )


async def claim_approved_refund(session: AsyncConnection) -> RefundToPay | None:
    """The oldest approved refund no other instance is working on, locked."""
    statement = _refund_query().where(refunds.c.status == "approved").order_by(refunds.c.id)
    row = (await session.execute(statement.limit(1))).first()
    return RefundToPay(**row._mapping) if row else None


async def lock_refund(session: AsyncConnection, refund_id: int) -> RefundToPay:
    """Refund `refund_id`, locked (waiting for another instance if need be)."""
    statement = _refund_query().where(refunds.c.id == refund_id)
    statement = statement.with_for_update(of=refunds)
    row = (await session.execute(statement)).one()
    return RefundToPay(**row._mapping)


async def next_attempt(session: AsyncConnection, refund_id: int) -> int:
    """The number of the refund's next payout attempt (1 for its first)."""
    last = await session.scalar(
        select(func.max(payouts.c.attempt)).where(payouts.c.refund_id == refund_id)
    )
    return int(last or 0) + 1


async def insert_payout(
    session: AsyncConnection, refund: RefundToPay, attempt: int, external_id: str, amount: Decimal
) -> PayoutRow:
    """A new payout row in `requesting`, to the refund's claimed address."""
    statement = (
        insert(payouts)
        .values(
            refund_id=refund.id,
            attempt=attempt,
            unique_external_id=external_id,
            status="requesting",
            address=refund.payout_address,
            extra_id=refund.payout_extra_id,
            currency=refund.currency,
            amount=amount,
        )
        .returning(*payouts.c)
    )
    return PayoutRow(**(await session.execute(statement)).one()._mapping)


async def claim_payout(
    session: AsyncConnection, *, statuses: frozenset[str], untouched_since: datetime
) -> PayoutRow | None:
    """The payout in one of `statuses` longest untouched (not since `untouched_since`)
    that no other instance is working on, locked."""
    statement = (
        select(payouts)
        .where(payouts.c.status.in_(statuses), payouts.c.updated_at < untouched_since)
        .order_by(payouts.c.updated_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = (await session.execute(statement)).first()
    return PayoutRow(**row._mapping) if row else None


async def lock_payout(session: AsyncConnection, payout_id: int) -> PayoutRow:
    statement = select(payouts).where(payouts.c.id == payout_id).with_for_update()
    return PayoutRow(**(await session.execute(statement)).one()._mapping)


async def lock_payout_by_provider_id(
    session: AsyncConnection, provider_id: str
) -> PayoutRow | None:
    statement = select(payouts).where(payouts.c.provider_payout_id == provider_id).with_for_update()
    row = (await session.execute(statement)).first()
    return PayoutRow(**row._mapping) if row else None


async def update_payout(session: AsyncConnection, payout_id: int, **values: object) -> None:
    """Change `values` of the payout (and its `updated_at`, which also says when it was
    last looked at)."""
    statement = update(payouts).where(payouts.c.id == payout_id)
    await session.execute(statement.values(**values, updated_at=func.now()))


@dataclass(frozen=True)
class PayoutIpnEntry:
    """A payout IPN as received: authentic or not, and what it claims."""

    raw_body: bytes
    signature_valid: bool
    result: str
    provider_payout_id: str | None = None
    status: str | None = None


async def log_payout_ipn(session: AsyncConnection, entry: PayoutIpnEntry) -> int | None:
    """Store `entry`; None when an authentic IPN with the same body is already stored."""
    statement = (
        pg_insert(payout_ipns)
        .values(
            raw_body=entry.raw_body,
            body_sha256=hashlib.sha256(entry.raw_body).hexdigest(),
            signature_valid=entry.signature_valid,
            result=entry.result,
            provider_payout_id=entry.provider_payout_id,
            status=entry.status,
        )
        .on_conflict_do_nothing(
            index_elements=["body_sha256"], index_where=payout_ipns.c.signature_valid
        )
        .returning(payout_ipns.c.id)
    )
    stored = await session.scalar(statement)
    return None if stored is None else int(stored)


async def claim_pending_ipn(session: AsyncConnection) -> tuple[int, bytes] | None:
    """The oldest pending payout IPN (id, body), locked."""
    statement = (
        select(payout_ipns.c.id, payout_ipns.c.raw_body)
        .where(payout_ipns.c.result == "pending")
        .order_by(payout_ipns.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    row = (await session.execute(statement)).first()
    return (int(row.id), bytes(row.raw_body)) if row else None


async def mark_ipn(session: AsyncConnection, ipn_id: int, result: str) -> None:
    statement = update(payout_ipns).where(payout_ipns.c.id == ipn_id)
    await session.execute(statement.values(result=result, processed_at=func.now()))
