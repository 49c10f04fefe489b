"""Flags: what the payment rules could not settle alone and an admin must look at, and
what the admin decided."""

from uuid import UUID

from sqlalchemy import func, insert, update

from bitloot_payments.adapters.orm import SqlRepository, by_key, flags, newest
from bitloot_payments.domain.records import OPEN, Flag
from bitloot_payments.handlers.ports import Flags


class SqlFlags(SqlRepository, Flags):
    async def add(self, flag: Flag) -> None:
        await self._uow.session.execute(
            insert(flags).values(
                kind=flag.kind,
                detail=flag.detail,
                order_id=flag.order_id,
                payment_id=flag.payment_id,
                ipn_id=flag.ipn_id,
                data=flag.data,
            )
        )

    async def load(self, flag_id: int, *, lock: bool = False) -> Flag | None:
        """With `lock`, two admins resolving it at once take turns, and the second finds
        it resolved."""
        return await self._first(Flag, by_key(flags.c.id, flag_id, lock=lock))

    async def resolve(self, flag_id: int, status: str, actor: str, note: str | None) -> None:
        await self._uow.session.execute(
            update(flags)
            .where(flags.c.id == flag_id)
            .values(status=status, resolved_by=actor, resolved_at=func.now(), note=note)
        )

    async def resolve_of_ipn(self, ipn_id: int, kind: str, status: str, actor: str) -> None:
        await self._uow.session.execute(
            update(flags)
            .where(flags.c.ipn_id == ipn_id, flags.c.kind == kind, flags.c.status == OPEN)
            .values(status=status, resolved_by=actor, resolved_at=func.now())
        )

    async def of_order(self, order_id: UUID, kind: str) -> list[Flag]:
        return await self.find(limit=100, order_id=order_id, kind=kind)

    async def find(
        self,
        *,
        limit: int,
        order_id: UUID | None = None,
        payment_id: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        before_id: int | None = None,
    ) -> list[Flag]:
        """Flags newest first, optionally only those of one order, payment, kind or status."""
        statement = newest(
            flags,
            limit,
            before_id,
            order_id=order_id,
            payment_id=payment_id,
            kind=kind,
            status=status,
        )
        return await self._all(Flag, statement)
