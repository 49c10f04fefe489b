"""Refunds: money owed back to a customer, and where each stands (`domain.refunds`)."""

from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bitloot_payments.adapters.orm import SqlRepository, by_key, newest, refunds
from bitloot_payments.domain.records import Refund
from bitloot_payments.handlers.ports import Refunds


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


class SqlRefunds(SqlRepository, Refunds):
    async def add(self, refund: Refund) -> int:
        statement = insert(refunds).values(**_row(refund)).returning(refunds.c.id)
        return int(await self._uow.session.scalar(statement) or 0)

    async def add_whole_order(self, refund: Refund) -> int | None:
        refund_id = await self._uow.session.scalar(
            pg_insert(refunds)
            .values(**_row(refund))
            .on_conflict_do_nothing(
                index_elements=[refunds.c.order_id, refunds.c.reason],
                index_where=text("flag_id IS NULL"),
            )
            .returning(refunds.c.id)
        )
        return int(refund_id) if refund_id is not None else None

    async def load(self, refund_id: int, *, lock: bool = False) -> Refund | None:
        """With `lock`, two admins, or an admin and the customer, deciding at once take
        turns."""
        return await self._first(Refund, by_key(refunds.c.id, refund_id, lock=lock))

    async def of_order(self, order_id: UUID, *, lock: bool = False) -> list[Refund]:
        statement = select(refunds).where(refunds.c.order_id == order_id).order_by(refunds.c.id)
        if lock:
            statement = statement.with_for_update()
        return await self._all(Refund, statement)

    async def of_orders(self, order_ids: list[UUID]) -> dict[UUID, list[Refund]]:
        """The refunds of each of `order_ids`, oldest first (one query for a page)."""
        found: dict[UUID, list[Refund]] = {}
        if not order_ids:
            return found
        statement = select(refunds).where(refunds.c.order_id.in_(order_ids)).order_by(refunds.c.id)
        for refund in await self._all(Refund, statement):
            found.setdefault(refund.order_id, []).append(refund)
        return found

    async def move(self, refund_id: int, status: str, **changes: object) -> Refund:
        statement = (
            update(refunds)
            .where(refunds.c.id == refund_id)
            .values(status=status, updated_at=func.now(), **changes)
            .returning(*refunds.c)
        )
        return await self._one(Refund, statement)

    async def find(
        self,
        *,
        limit: int,
        order_id: UUID | None = None,
        status: str | None = None,
        before_id: int | None = None,
    ) -> list[Refund]:
        """Refunds newest first, optionally those of one order or in one status."""
        statement = newest(refunds, limit, before_id, order_id=order_id, status=status)
        return await self._all(Refund, statement)
