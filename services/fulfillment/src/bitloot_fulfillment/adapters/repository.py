"""Loading and storing sagas. A saga is read `FOR UPDATE`, so two events of one order
handled at once by two consumers apply one after the other, never over each other."""

from dataclasses import fields
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_contracts.events import OrderStatusChanged
from bitloot_fulfillment.adapters.orm import saga_transitions, sagas
from bitloot_fulfillment.domain.saga import OrderSaga

_COLUMNS = [f.name for f in fields(OrderSaga) if f.name != "pending"]


class SagaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_for_update(self, order_id: UUID) -> OrderSaga | None:
        query = select(sagas).where(sagas.c.order_id == order_id).with_for_update()
        row = (await self._session.execute(query)).mappings().first()
        return None if row is None else OrderSaga(**{name: row[name] for name in _COLUMNS})

    async def add(self, saga: OrderSaga) -> None:
        await self._session.execute(insert(sagas).values(self._values(saga)))

    async def save(self, saga: OrderSaga) -> None:
        await self._session.execute(
            update(sagas)
            .where(sagas.c.order_id == saga.order_id)
            .values(**self._values(saga), updated_at=func.now())
        )

    async def record_transition(self, change: OrderStatusChanged) -> None:
        """Keep the transition for the order's timeline (same transaction as the saga)."""
        await self._session.execute(
            insert(saga_transitions).values(
                order_id=change.order_id,
                from_state=change.previous_status,
                to_state=change.status,
                reason=change.reason,
                at=change.occurred_at,
            )
        )

    @staticmethod
    def _values(saga: OrderSaga) -> dict[str, object]:
        return {name: getattr(saga, name) for name in _COLUMNS}
