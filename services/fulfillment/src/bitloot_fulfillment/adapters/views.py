"""Read-only views of the sagas for the internal API (no domain objects needed)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_fulfillment.adapters.orm import saga_transitions, sagas
from bitloot_fulfillment.domain.saga import TERMINAL

NEEDS_ADMIN = frozenset({"failed", "refunded"})


@dataclass(frozen=True)
class SagaFilter:
    """What the admin asks of the saga listing; every criterion is optional."""

    order_ids: Sequence[UUID] = ()
    state: str | None = None
    older_than: timedelta | None = None  # created at least this long ago
    stuck_for: timedelta | None = None  # not terminal and unchanged for this long
    limit: int = 100
    offset: int = 0


async def list_sagas(session: AsyncSession, wanted: SagaFilter) -> list[dict[str, Any]]:
    """Sagas matching `wanted`, least recently changed last (newest first)."""
    query = select(*_LISTED)
    if wanted.order_ids:
        query = query.where(sagas.c.order_id.in_(wanted.order_ids))
    if wanted.state is not None:
        query = query.where(sagas.c.state == wanted.state)
    if wanted.older_than is not None:
        query = query.where(sagas.c.created_at <= func.now() - wanted.older_than)
    if wanted.stuck_for is not None:
        query = query.where(
            sagas.c.state.not_in(TERMINAL), sagas.c.updated_at <= func.now() - wanted.stuck_for
        )
    query = query.order_by(sagas.c.updated_at.desc(), sagas.c.order_id)
    page = query.limit(wanted.limit).offset(wanted.offset)
    rows = (await session.execute(page)).mappings().all()
    return [_saga_json(row) for row in rows]


async def current_status(session: AsyncSession, order_id: UUID) -> tuple[str, str] | None:
    """The saga's state and when it last changed, for a live page; None before payment."""
    query = select(sagas.c.state, sagas.c.updated_at).where(sagas.c.order_id == order_id)
    row = (await session.execute(query)).first()
    return None if row is None else (row.state, row.updated_at.isoformat())


_LISTED = (
    sagas.c.order_id,
    sagas.c.state,
    sagas.c.kinguin_order_id,
    sagas.c.kinguin_status,
    sagas.c.failure_stage,
    sagas.c.failure_reason,
    sagas.c.polls_sent,
    sagas.c.lines,
    sagas.c.delivered_by_hand_by,
    sagas.c.created_at,
    sagas.c.updated_at,
)


def _saga_json(row: RowMapping) -> dict[str, Any]:
    return {
        "order_id": str(row["order_id"]),
        "state": row["state"],
        "kinguin_order_id": row["kinguin_order_id"],
        "kinguin_status": row["kinguin_status"],
        "failure_stage": row["failure_stage"],
        "failure_reason": row["failure_reason"],
        # Failed orders and refunds after delivery wait for an admin; nothing automatic.
        "needs_admin": row["state"] in NEEDS_ADMIN,
        "polls_sent": row["polls_sent"],
        # What the order holds, so that an admin delivering by hand enters every key.
        "lines": [
            {"kinguin_product_id": line["kinguin_product_id"], "qty": line["qty"]}
            for line in row["lines"]
        ],
        "delivered_by_hand_by": row["delivered_by_hand_by"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


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
