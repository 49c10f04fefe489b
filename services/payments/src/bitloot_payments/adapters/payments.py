"""NOWPayments payments as this service knows them, one row per payment id."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_payments.adapters.orders import order_update
from bitloot_payments.adapters.orm import payments
from bitloot_payments.domain.payment import LIVE, Notification, OrderState, PaymentState


@dataclass(frozen=True)
class PaymentRecord:
    """A stored payment, with the amounts of the latest IPN applied to it."""

    payment_id: str
    order_id: UUID
    parent_payment_id: str | None
    status: str
    seen: list[str]
    price_amount: Decimal | None
    price_currency: str | None
    pay_amount: Decimal | None
    actually_paid: Decimal | None
    pay_currency: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PaymentFilter:
    """Which payments to list (each None: any); `since` inclusive, `until` exclusive."""

    status: str | None = None
    order_id: UUID | None = None
    payment_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def load_payment(session: AsyncConnection, payment_id: str) -> PaymentRecord | None:
    """The payment, locked until the transaction ends (its order is locked first)."""
    statement = select(payments).where(payments.c.payment_id == payment_id).with_for_update()
    row = (await session.execute(statement)).first()
    return PaymentRecord(**row._mapping) if row else None


def state_of(record: PaymentRecord | None) -> PaymentState:
    if record is None:
        return PaymentState()
    return PaymentState(record.order_id, record.status, frozenset(record.seen))


async def order_of_payment(session: AsyncConnection, payment_id: str) -> UUID | None:
    """The order a known payment belongs to (a re-deposit is linked through its parent)."""
    found = await session.scalar(
        select(payments.c.order_id).where(payments.c.payment_id == payment_id)
    )
    return found if isinstance(found, UUID) else None


async def others_live(session: AsyncConnection, order_id: UUID, payment_id: str) -> bool:
    """Whether another payment of the order may still bring money (not finished, failed,
    expired or refunded): while one is, an expired payment does not fail the order."""
    statement = select(func.count()).where(
        payments.c.order_id == order_id,
        payments.c.payment_id != payment_id,
        payments.c.status.in_(LIVE),
    )
    return bool(await session.scalar(statement))


def payment_upsert(ipn: Notification, state: PaymentState) -> Insert:
    """The statement storing what the payment became after `ipn` (its amounts only when
    it moved on)."""
    seen = sorted(state.seen)
    moved = state.status == ipn.status
    amounts = {
        "price_amount": ipn.price_amount,
        "price_currency": ipn.price_currency,
        "pay_amount": ipn.pay_amount,
        "actually_paid": ipn.actually_paid,
        "pay_currency": ipn.pay_currency,
    }
    changes = {"status": state.status, "seen": seen, "updated_at": func.now()}
    statement = insert(payments).values(
        payment_id=ipn.payment_id,
        order_id=ipn.order_id,
        parent_payment_id=ipn.parent_payment_id,
        status=state.status,
        seen=seen,
        **amounts,
    )
    return statement.on_conflict_do_update(
        index_elements=[payments.c.payment_id],
        set_={**changes, **(amounts if moved else {})},
    )


async def save_payment(session: AsyncConnection, ipn: Notification, state: PaymentState) -> None:
    """Store what the payment became after `ipn` (its amounts only when it moved on)."""
    await session.execute(payment_upsert(ipn, state))


async def save_payment_and_order(
    session: AsyncConnection, ipn: Notification, state: PaymentState, order: OrderState
) -> None:
    """`save_payment` and `save_state` in one statement (one round trip): the payment's
    upsert runs as a data-modifying WITH of the order's update."""
    saved = payment_upsert(ipn, state).cte("saved_payment")
    await session.execute(order_update(order).add_cte(saved))


async def list_payments(
    session: AsyncConnection,
    which: PaymentFilter,
    *,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> list[PaymentRecord]:
    """Payments newest first; `after` is the (created_at, payment_id) of the last one of
    the previous page, so pages neither skip nor repeat payments created together."""
    statement = (
        select(payments)
        .order_by(payments.c.created_at.desc(), payments.c.payment_id.desc())
        .limit(limit)
    )
    if which.status is not None:
        statement = statement.where(payments.c.status == which.status)
    if which.order_id is not None:
        statement = statement.where(payments.c.order_id == which.order_id)
    if which.payment_id is not None:
        statement = statement.where(payments.c.payment_id == which.payment_id)
    if which.since is not None:
        statement = statement.where(payments.c.created_at >= which.since)
    if which.until is not None:
        statement = statement.where(payments.c.created_at < which.until)
    if after is not None:
        statement = statement.where(
            tuple_(payments.c.created_at, payments.c.payment_id) < tuple_(*after)
        )
    return [PaymentRecord(**row._mapping) for row in await session.execute(statement)]
