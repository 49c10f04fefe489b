"""Reading and writing key-return requests (one per Kinguin order)."""

from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bitloot_kinguin_gateway.adapters.orm import key_returns
from bitloot_kinguin_gateway.adapters.sql import SqlRepository
from bitloot_kinguin_gateway.domain.key_return import ASKED
from bitloot_kinguin_gateway.domain.key_return import KeyReturn as KeyReturn
from bitloot_kinguin_gateway.handlers.ports import KeyReturns


class KeyReturnRepository(SqlRepository, KeyReturns):
    async def get(self, kinguin_order_id: str) -> KeyReturn | None:
        query = select(key_returns).where(key_returns.c.kinguin_order_id == kinguin_order_id)
        row = (await self._session.execute(query)).mappings().first()
        return None if row is None else KeyReturn(**dict(row))

    async def refunded_by_us(self, kinguin_order_id: str, status: str) -> bool:
        if status != "refunded":
            return False
        asked = await self.get(kinguin_order_id)
        return asked is not None and asked.state in ASKED

    async def of_order(self, order_id: UUID) -> list[KeyReturn]:
        query = (
            select(key_returns)
            .where(key_returns.c.order_id == order_id)
            .order_by(key_returns.c.created_at)
        )
        rows = (await self._session.execute(query)).mappings()
        return [KeyReturn(**dict(row)) for row in rows]

    async def add(
        self,
        kinguin_order_id: str,
        order_id: UUID,
        state: str,
        *,
        requested_by: str | None,
        reason: str | None = None,
    ) -> bool:
        settled = None if state == "requested" else func.clock_timestamp()
        inserted = await self._session.execute(
            pg_insert(key_returns)
            .values(
                kinguin_order_id=kinguin_order_id,
                order_id=order_id,
                state=state,
                reason=reason,
                requested_by=requested_by,
                settled_at=settled,
            )
            .on_conflict_do_nothing()
            .returning(key_returns.c.kinguin_order_id)
        )
        return inserted.first() is not None

    async def settle(
        self, kinguin_order_id: str, state: str, *, reason: str | None, key_count: int | None
    ) -> None:
        """What came of a `requested` row (a settled row keeps its outcome)."""
        await self._session.execute(
            update(key_returns)
            .where(
                key_returns.c.kinguin_order_id == kinguin_order_id,
                key_returns.c.state == "requested",
            )
            .values(
                state=state,
                reason=reason,
                key_count=key_count,
                settled_at=func.clock_timestamp(),
            )
        )
