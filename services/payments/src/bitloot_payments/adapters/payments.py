"""NOWPayments payments as this service knows them, one row per payment id."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import select, tuple_

from bitloot_payments.adapters.orders import order_update_args, order_update_sql
from bitloot_payments.adapters.orm import SqlRepository, payments
from bitloot_payments.domain.payment import LIVE, Notification, OrderState, PaymentState
from bitloot_payments.domain.records import PaymentFilter, PaymentRecord
from bitloot_payments.handlers.ports import Payments

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


class SqlPayments(SqlRepository, Payments):
    async def load(self, payment_id: str) -> PaymentRecord | None:
        statement = select(payments).where(payments.c.payment_id == payment_id).with_for_update()
        return await self._first(PaymentRecord, statement)

    async def lock(self, payment_id: str) -> PaymentRecord | None:
        row = await (await self._uow.driver()).fetchrow(_LOCK_PAYMENT, payment_id)
        return PaymentRecord(**row) if row else None

    async def order_of(self, payment_id: str) -> UUID | None:
        found = await self._uow.session.scalar(
            select(payments.c.order_id).where(payments.c.payment_id == payment_id)
        )
        return found if isinstance(found, UUID) else None

    async def others_live(self, order_id: UUID, payment_id: str) -> bool:
        driver = await self._uow.driver()
        return bool(await driver.fetchval(_OTHERS_LIVE, order_id, payment_id, sorted(LIVE)))

    async def save(
        self, ipn: Notification, state: PaymentState, order: OrderState | None = None
    ) -> None:
        """The payment's upsert, as a data-modifying WITH of the order's update when the
        order moves too."""
        moved = state.status == ipn.status
        driver = await self._uow.driver()
        if order is None:
            await driver.execute(_SAVE_PAYMENT[moved], *_upsert_args(ipn, state))
        else:
            sql = _SAVE_PAYMENT_AND_ORDER[moved, order.status == "paid"]
            await driver.execute(sql, *_upsert_args(ipn, state), *order_update_args(order))

    async def find(
        self, which: PaymentFilter, *, limit: int, after: tuple[datetime, str] | None = None
    ) -> list[PaymentRecord]:
        """Payments newest first; `after` is the (created_at, payment_id) of the last one
        of the previous page, so pages neither skip nor repeat payments created together."""
        statement = (
            select(payments)
            .order_by(payments.c.created_at.desc(), payments.c.payment_id.desc())
            .limit(limit)
        )
        for name in ("status", "order_id", "payment_id"):
            if (value := getattr(which, name)) is not None:
                statement = statement.where(payments.c[name] == value)
        if which.since is not None:
            statement = statement.where(payments.c.created_at >= which.since)
        if which.until is not None:
            statement = statement.where(payments.c.created_at < which.until)
        if after is not None:
            statement = statement.where(
                tuple_(payments.c.created_at, payments.c.payment_id) < tuple_(*after)
            )
        return await self._all(PaymentRecord, statement)
