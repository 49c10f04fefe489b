"""NOWPayments payments as this service knows them, one row per payment id."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_payments.adapters.orders import order_update_args, order_update_sql
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


# The IPN processor's statements, as plain SQL on the unit of work's driver (prepared
# once per connection by asyncpg).
_LOCK_PAYMENT = "SELECT * FROM payments WHERE payment_id = $1 FOR UPDATE"
_OTHERS_LIVE = (
    "SELECT count(*) FROM payments"
    " WHERE order_id = $1 AND payment_id <> $2 AND status = ANY($3::text[])"
)
_UPSERT = (
    "INSERT INTO payments (payment_id, order_id, parent_payment_id, status, seen,"
    " price_amount, price_currency, pay_amount, actually_paid, pay_currency)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (payment_id) DO UPDATE SET status = excluded.status, seen = excluded.seen,"
    " updated_at = now()"
)
_UPSERT_AMOUNTS = (
    ", price_amount = excluded.price_amount, price_currency = excluded.price_currency,"
    " pay_amount = excluded.pay_amount, actually_paid = excluded.actually_paid,"
    " pay_currency = excluded.pay_currency"
)
# By whether the payment moved on (its amounts are stored).
_SAVE_PAYMENT = {moved: _UPSERT + (_UPSERT_AMOUNTS if moved else "") for moved in (False, True)}
# By (moved, paid): the upsert as a data-modifying WITH of the order's update.
_SAVE_PAYMENT_AND_ORDER = {
    (moved, paid): f"WITH saved_payment AS ({_SAVE_PAYMENT[moved]}) "
    + order_update_sql(paid=paid, first=11)
    for moved in (False, True)
    for paid in (False, True)
}


async def lock_payment(driver: "asyncpg.Connection[Any]", payment_id: str) -> PaymentRecord | None:
    """`load_payment` on the driver (the IPN processor's path)."""
    row = await driver.fetchrow(_LOCK_PAYMENT, payment_id)
    return PaymentRecord(**row) if row else None


async def others_live(driver: "asyncpg.Connection[Any]", order_id: UUID, payment_id: str) -> bool:
    """Whether another payment of the order may still bring money (not finished, failed,
    expired or refunded): while one is, an expired payment does not fail the order."""
    return bool(await driver.fetchval(_OTHERS_LIVE, order_id, payment_id, sorted(LIVE)))


def _upsert_args(ipn: Notification, state: PaymentState) -> tuple[object, ...]:
    return (
        ipn.payment_id,
        ipn.order_id,
        ipn.parent_payment_id,
        state.status,
        sorted(state.seen),
        ipn.price_amount,
        ipn.price_currency,
        ipn.pay_amount,
        ipn.actually_paid,
        ipn.pay_currency,
    )


async def save_payment(
    driver: "asyncpg.Connection[Any]", ipn: Notification, state: PaymentState
) -> None:
    """Store what the payment became after `ipn` (its amounts only when it moved on)."""
    sql = _SAVE_PAYMENT[state.status == ipn.status]
    await driver.execute(sql, *_upsert_args(ipn, state))


async def save_payment_and_order(
    driver: "asyncpg.Connection[Any]", ipn: Notification, state: PaymentState, order: OrderState
) -> None:
    """`save_payment` and `save_state` in one statement (one round trip): the payment's
    upsert runs as a data-modifying WITH of the order's update."""
    sql = _SAVE_PAYMENT_AND_ORDER[state.status == ipn.status, order.status == "paid"]
    await driver.execute(sql, *_upsert_args(ipn, state), *order_update_args(order))


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
