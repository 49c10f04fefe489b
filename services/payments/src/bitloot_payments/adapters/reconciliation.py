"""The reconciler's view of orders (`handlers.ports.Reconciliation`) in PostgreSQL."""

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import func, select, update

from bitloot_payments.adapters.orm import SqlRepository, orders, payments
from bitloot_payments.domain.reconcile import KnownPayment
from bitloot_payments.handlers.ports import DueOrder, Reconciliation


class SqlReconciliation(SqlRepository, Reconciliation):
    async def claim_due(self, limit: int, lease: timedelta) -> list[DueOrder]:
        due = (
            select(orders.c.order_id)
            .where(orders.c.reconcile_at <= func.now(), orders.c.invoiced_at.is_not(None))
            .order_by(orders.c.reconcile_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        rows = await self._uow.session.execute(
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

    async def known_payments(self, order_id: UUID) -> list[KnownPayment]:
        rows = await self._uow.session.execute(
            select(payments.c.payment_id, payments.c.status, payments.c.seen).where(
                payments.c.order_id == order_id
            )
        )
        return [KnownPayment(r.payment_id, r.status, frozenset(r.seen)) for r in rows]

    async def order_status(self, order_id: UUID) -> str | None:
        statement = select(orders.c.status).where(orders.c.order_id == order_id)
        found = await self._uow.session.scalar(statement)
        return str(found) if found is not None else None

    async def schedule(self, order_id: UUID, at: datetime | None) -> None:
        await self._uow.session.execute(
            update(orders)
            .where(orders.c.order_id == order_id)
            .values(
                reconcile_at=at,
                reconcile_attempts=orders.c.reconcile_attempts + 1,
                reconciled_at=func.now(),
            )
        )

    async def expire_unpaid(self, order_id: UUID) -> bool:
        no_payment = ~select(payments.c.payment_id).where(payments.c.order_id == order_id).exists()
        expired = await self._uow.session.execute(
            update(orders)
            .where(orders.c.order_id == order_id, orders.c.status == "invoiced", no_payment)
            .values(status="expired", closed_at=func.now(), updated_at=func.now())
            .returning(orders.c.order_id)
        )
        return expired.first() is not None
