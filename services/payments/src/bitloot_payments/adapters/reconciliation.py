"""The reconciler's view of orders: which are due a question to NOWPayments, claimed for
a while so that several instances never ask about the same order at once."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_payments.adapters.orm import orders, payments
from bitloot_payments.domain.reconcile import KnownPayment


@dataclass(frozen=True)
class DueOrder:
    """An order due a reconciliation: what the reconciler needs to ask about it."""

    order_id: UUID
    status: str
    invoice_id: str | None
    invoiced_at: datetime
    attempts: int


async def claim_due(session: AsyncConnection, limit: int, lease: timedelta) -> list[DueOrder]:
    """Up to `limit` orders whose reconciliation is due, pushed `lease` into the future so
    that no other instance takes them meanwhile (a crash just delays them by `lease`).
    Orders another transaction holds (the IPN processor applying an IPN) are skipped."""
    due = (
        select(orders.c.order_id)
        .where(orders.c.reconcile_at <= func.now(), orders.c.invoiced_at.is_not(None))
        .order_by(orders.c.reconcile_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = await session.execute(
        update(orders)
        .where(orders.c.order_id.in_(due))
        .values(reconcile_at=func.now() + lease)
        .returning(
            orders.c.order_id,
            orders.c.status,
            orders.c.invoice_id,
            orders.c.invoiced_at,
            orders.c.reconcile_attempts,
        )
    )
    return [DueOrder(*row) for row in rows]


async def known_payments(session: AsyncConnection, order_id: UUID) -> list[KnownPayment]:
    rows = await session.execute(
        select(payments.c.payment_id, payments.c.status, payments.c.seen).where(
            payments.c.order_id == order_id
        )
    )
    return [KnownPayment(r.payment_id, r.status, frozenset(r.seen)) for r in rows]


async def order_status(session: AsyncConnection, order_id: UUID) -> str | None:
    found = await session.scalar(select(orders.c.status).where(orders.c.order_id == order_id))
    return str(found) if found is not None else None


async def schedule(session: AsyncConnection, order_id: UUID, at: datetime | None) -> None:
    """The order was just reconciled: next at `at` (None: never again)."""
    await session.execute(
        update(orders)
        .where(orders.c.order_id == order_id)
        .values(
            reconcile_at=at,
            reconcile_attempts=orders.c.reconcile_attempts + 1,
            reconciled_at=func.now(),
        )
    )


async def expire_unpaid(session: AsyncConnection, order_id: UUID) -> bool:
    """Mark the order ``expired`` if it is still waiting for its first payment and none
    is known; whether it was."""
    no_payment = ~select(payments.c.payment_id).where(payments.c.order_id == order_id).exists()
    expired = await session.execute(
        update(orders)
        .where(orders.c.order_id == order_id, orders.c.status == "invoiced", no_payment)
        .values(status="expired", closed_at=func.now(), updated_at=func.now())
        .returning(orders.c.order_id)
    )
    return expired.first() is not None
