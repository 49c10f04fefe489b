"""The `payouts` and `payout_ipns` tables, and the refund rows a payout moves.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so that several instances may run the
payout runner: each refund or payout is worked on by one of them at a time.
"""

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bitloot_payments.adapters.orm import SqlRepository, orders, payout_ipns, payouts, refunds
from bitloot_payments.handlers.ports import PayoutIpnEntry, PayoutLedger, PayoutRow, RefundToPay


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


class SqlPayouts(SqlRepository, PayoutLedger):
    async def claim_approved_refund(self) -> RefundToPay | None:
        statement = _refund_query().where(refunds.c.status == "approved").order_by(refunds.c.id)
        return await self._first(RefundToPay, statement.limit(1))

    async def lock_refund(self, refund_id: int) -> RefundToPay:
        statement = _refund_query().where(refunds.c.id == refund_id)
        return await self._one(RefundToPay, statement.with_for_update(of=refunds))

    async def next_attempt(self, refund_id: int) -> int:
        last = await self._uow.session.scalar(
            select(func.max(payouts.c.attempt)).where(payouts.c.refund_id == refund_id)
        )
        return int(last or 0) + 1

    async def insert(
        self, refund: RefundToPay, attempt: int, external_id: str, amount: Decimal
    ) -> PayoutRow:
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
        return await self._one(PayoutRow, statement)

    async def claim(self, statuses: frozenset[str], untouched_since: datetime) -> PayoutRow | None:
        statement = (
            select(payouts)
            .where(payouts.c.status.in_(statuses), payouts.c.updated_at < untouched_since)
            .order_by(payouts.c.updated_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        return await self._first(PayoutRow, statement)

    async def lock(self, payout_id: int) -> PayoutRow:
        statement = select(payouts).where(payouts.c.id == payout_id).with_for_update()
        return await self._one(PayoutRow, statement)

    async def lock_by_provider_id(self, provider_id: str) -> PayoutRow | None:
        statement = select(payouts).where(payouts.c.provider_payout_id == provider_id)
        return await self._first(PayoutRow, statement.with_for_update())

    async def update(self, payout_id: int, **values: object) -> None:
        statement = update(payouts).where(payouts.c.id == payout_id)
        await self._uow.session.execute(statement.values(**values, updated_at=func.now()))

    async def log_ipn(self, entry: PayoutIpnEntry) -> int | None:
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
        stored = await self._uow.session.scalar(statement)
        return None if stored is None else int(stored)

    async def claim_pending_ipn(self) -> tuple[int, bytes] | None:
        statement = (
            select(payout_ipns.c.id, payout_ipns.c.raw_body)
            .where(payout_ipns.c.result == "pending")
            .order_by(payout_ipns.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        row = (await self._uow.session.execute(statement)).first()
        return (int(row.id), bytes(row.raw_body)) if row else None

    async def mark_ipn(self, ipn_id: int, result: str) -> None:
        statement = update(payout_ipns).where(payout_ipns.c.id == ipn_id)
        await self._uow.session.execute(statement.values(result=result, processed_at=func.now()))
