"""Read-only views of the sagas for the internal API (no domain objects needed)."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_fulfillment.adapters.orm import saga_transitions, sagas


async def sagas_by_id(
    session: AsyncSession, order_ids: Sequence[UUID], state: str | None, limit: int
) -> list[dict[str, Any]]:
    """Sagas of the given orders (all, newest first, when none are given)."""
    query = select(
        sagas.c.order_id,
        sagas.c.state,
        sagas.c.failure_stage,
        sagas.c.failure_reason,
        sagas.c.created_at,
        sagas.c.updated_at,
    )
    if order_ids:
        query = query.where(sagas.c.order_id.in_(order_ids))
    if state is not None:
        query = query.where(sagas.c.state == state)
    rows = (await session.execute(query.order_by(sagas.c.updated_at.desc()).limit(limit))).all()
    return [
        {
            "order_id": str(row.order_id),
            "state": row.state,
            "failure_stage": row.failure_stage,
            "failure_reason": row.failure_reason,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
        }
        for row in rows
    ]


async def timeline(session: AsyncSession, order_id: UUID) -> list[dict[str, Any]]:
    """Every transition of the order's saga, oldest first."""
    rows = (
        await session.execute(
            select(saga_transitions)
            .where(saga_transitions.c.order_id == order_id)
            .order_by(saga_transitions.c.id)
        )
    ).all()
    return [
        {
            "at": row.at.isoformat(),
            "kind": f"saga_{row.to_state}",
            "summary": _summary(row.from_state, row.to_state, row.reason),
            "data": {"from": row.from_state, "to": row.to_state, "reason": row.reason},
        }
        for row in rows
    ]


def _summary(from_state: str | None, to_state: str, reason: str | None) -> str:
    move = f"{from_state} → {to_state}" if from_state else f"saga started: {to_state}"
    return f"{move} ({reason})" if reason else move
