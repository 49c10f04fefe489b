"""Read-only views of the sagas for the internal API (no domain objects needed)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from pydantic import JsonValue
from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_contracts.customer import customer_status_of_order
from bitloot_fulfillment.adapters.live import DelayView, LiveView, RefundView
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


async def list_sagas(session: AsyncSession, wanted: SagaFilter) -> list[dict[str, JsonValue]]:
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


async def live_view(session: AsyncSession, order_id: UUID) -> tuple[LiveView, str | None]:
    """What is stored of the order for a live page, and when its saga last changed (an
    empty view before payment)."""
    query = select(*_LIVE).where(sagas.c.order_id == order_id)
    row = (await session.execute(query)).mappings().first()
    if row is None:
        return LiveView(), None
    view = LiveView(state=row["state"], delay=_delay(row))
    return view.with_facts(_refund(row), row["email_sent"]), row["updated_at"].isoformat()


def _delay(row: RowMapping) -> DelayView | None:
    """A preorder as soon as Kinguin says it is one; any order once the customer was
    told that it is late."""
    if not (row["is_preorder"] or row["delay_notified"]):
        return None
    return DelayView(row["is_preorder"], row["preorder_release_date"])


def _refund(row: RowMapping) -> RefundView | None:
    if row["refund_status"] is None:
        return None
    return RefundView(
        status=row["refund_status"],
        at=row["refund_at"],
        amount=row["refund_amount"],
        currency=row["refund_currency"],
        transaction_id=row["refund_transaction_id"],
    )


_REFUND = (
    sagas.c.refund_id,
    sagas.c.refund_status,
    sagas.c.refund_at,
    sagas.c.refund_amount,
    sagas.c.refund_currency,
    sagas.c.refund_transaction_id,
    sagas.c.email_sent,
)
_LIVE = (
    sagas.c.state,
    sagas.c.updated_at,
    sagas.c.is_preorder,
    sagas.c.preorder_release_date,
    sagas.c.delay_notified,
    *_REFUND,
)
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
    *_REFUND,
    sagas.c.created_at,
    sagas.c.updated_at,
)


def _saga_json(row: RowMapping) -> dict[str, JsonValue]:
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
        # The refund payments last reported (its id for the payments API) and the status
        # the customer sees, which the refund and the key email decide as much as the saga.
        "refund_id": row["refund_id"],
        "refund_status": row["refund_status"],
        "email_confirmed": row["email_sent"],
        "customer_status": customer_status_of_order(
            row["state"], row["refund_status"], email_confirmed=row["email_sent"] is not False
        ),
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


async def timeline(session: AsyncSession, order_id: UUID) -> list[dict[str, JsonValue]]:
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
