"""Orders and their lines in the payments database."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from bitloot_contracts.order_filters import REFUND_STATUSES
from bitloot_payments.adapters.orm import SqlRepository, by_key, flags, order_lines, orders, refunds
from bitloot_payments.domain.order import PricedLine
from bitloot_payments.domain.payment import OrderState
from bitloot_payments.domain.records import Line, Order
from bitloot_payments.handlers.ports import Orders

_LOCK_ORDER = "SELECT * FROM orders WHERE order_id = $1 FOR UPDATE"
_LINES = (
    "SELECT l.sku, l.kinguin_product_id, l.qty, l.unit_price, l.max_unit_price, p.title,"
    " p.platform"
    " FROM order_lines l LEFT JOIN products p ON p.sku = l.sku"
    " WHERE l.order_id = $1 ORDER BY l.sku"
)


def order_update_sql(*, paid: bool, first: int = 1) -> str:
    """The statement storing the order's status and payment (`order_update_args`, numbered
    from `first`); `paid` when the new status is ``paid``: `paid_at` is then set the first
    time."""
    order_id, status, payment_id, payment_status, closed_at = (f"${first + n}" for n in range(5))
    paid_at = ", paid_at = coalesce(paid_at, now())" if paid else ""
    # Only parameter numbers are put in the text, never a value.
    return (
        f"UPDATE orders SET status = {status}, payment_id = {payment_id},"  # noqa: S608
        f" payment_status = {payment_status}, closed_at = {closed_at},"
        f" updated_at = now(){paid_at} WHERE order_id = {order_id}"
    )


def order_update_args(state: OrderState) -> tuple[object, ...]:
    return (state.order_id, state.status, state.payment_id, state.payment_status, state.closed_at)


_STORE_STATE = {paid: order_update_sql(paid=paid) for paid in (False, True)}
# The per-order statements, as plain SQL on the unit of work's driver (prepared once per
# connection by asyncpg; no SQLAlchemy compile or cache-key per message).
_RECORD_FULFILMENT = (
    "UPDATE orders SET fulfilment_state = $2, fulfilment_at = $3"
    " WHERE order_id = $1 AND (fulfilment_at IS NULL OR fulfilment_at < $3)"
    " RETURNING order_id"
)
# A fulfilment, and whether the order has a refund to cancel or flag, in one round trip:
# `order_has_refunds` runs when the row is locked and reads with a snapshot of its own
# (migration p0013 says why a subquery would not do).
_RECORD_FULFILLED = (
    "UPDATE orders SET fulfilment_state = 'fulfilled', fulfilment_at = $2"
    " WHERE order_id = $1 AND (fulfilment_at IS NULL OR fulfilment_at < $2)"
    " RETURNING order_has_refunds(order_id)"
)
_RECORD_KEY_EMAIL = (
    "UPDATE orders SET key_email_confirmed = coalesce(key_email_confirmed, false) OR $2"
    " WHERE order_id = $1 RETURNING order_id"
)


# Fulfilment states after which nothing more happens by itself.
_ENDED = ("fulfilled", "failed", "refunded")
# Refunds whose money is still owed (not sent, rejected, paid outside or canceled).
_OWED = ("due", "claimed", "approved", "sending", "failed")
# Refunds an admin must move on: approve a claim, or act on a failed payout.
_ADMIN_MOVES = ("claimed", "failed")


@dataclass(frozen=True)
class OrderQuery:
    """Which orders a list shows: by e-mail, the order's own `status`, the statuses the
    admin's list shows (`payment`, `fulfilment`, `refund`: any of its refunds) and a
    `preset` (`bitloot_contracts.order_filters.PRESETS`); `stuck_before` is when an order
    still unfulfilled must have been paid to count as stuck. `customer` is filtered after
    reading (`handlers.queries.ListOrders`): it is computed, not stored."""

    email: str | None = None
    status: str | None = None
    payment: str | None = None
    fulfilment: str | None = None
    refund: str | None = None
    customer: str | None = None
    preset: str | None = None
    stuck_before: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.email is not None:
            found.append(orders.c.email == self.email.strip().lower())
        for column, value in (
            (orders.c.status, self.status),
            (orders.c.payment_status, self.payment),
            (orders.c.fulfilment_state, self.fulfilment),
        ):
            if value is not None:
                found.append(column == value)
        if self.refund is not None:
            found.append(_has_refund(self.refund))
        if self.preset is not None:
            found.append(self._preset(self.preset))
        return found

    def _preset(self, preset: str) -> ColumnElement[bool]:
        failed = orders.c.fulfilment_state == "failed"
        stuck = and_(
            orders.c.status == "paid",
            orders.c.paid_at < (self.stuck_before or func.now()),
            or_(orders.c.fulfilment_state.is_(None), orders.c.fulfilment_state.not_in(_ENDED)),
        )
        if preset == "failed":
            return failed
        if preset == "stuck":
            return stuck
        if preset == "refund_due":
            return or_(orders.c.status == "refund_due", _has_refund(*_OWED))
        open_flag = exists().where(flags.c.order_id == orders.c.order_id, flags.c.status == "open")
        # A failed order's refund is made due by itself: until then an admin looks at it.
        unrefunded = and_(failed, ~_has_refund(*(s for s in REFUND_STATUSES if s != "canceled")))
        return or_(open_flag, _has_refund(*_ADMIN_MOVES), unrefunded, stuck)


def _has_refund(*statuses: str) -> ColumnElement[bool]:
    return exists().where(refunds.c.order_id == orders.c.order_id, refunds.c.status.in_(statuses))


class SqlOrders(SqlRepository, Orders):
    async def insert(
        self,
        order_id: UUID,
        email: str,
        lines: list[PricedLine],
        total: Decimal,
        currency: str,
        idempotency: tuple[str, str] | None = None,
    ) -> bool:
        key, request_hash = idempotency or (None, None)
        session = self._uow.session
        created = await session.scalar(
            insert(orders)
            .values(
                order_id=order_id,
                email=email,
                status="created",
                total=total,
                currency=currency,
                idempotency_key=key,
                request_hash=request_hash,
            )
            .on_conflict_do_nothing(index_elements=[orders.c.idempotency_key])
            .returning(orders.c.order_id)
        )
        if created is None:
            return False
        await session.execute(
            insert(order_lines),
            [
                {
                    "order_id": order_id,
                    "sku": line.sku,
                    "kinguin_product_id": line.kinguin_product_id,
                    "qty": line.qty,
                    "unit_price": line.unit_price,
                    "max_unit_price": line.max_unit_price,
                }
                for line in lines
            ],
        )
        return True

    async def by_key(self, key: str) -> Order | None:
        statement = select(orders).where(orders.c.idempotency_key == key)
        return await self._first(Order, statement)

    async def record_invoice(
        self, order_id: UUID, invoice_id: str, invoice_url: str, reconcile_in: timedelta
    ) -> None:
        await self._uow.session.execute(
            update(orders)
            .where(orders.c.order_id == order_id)
            .values(
                invoice_id=invoice_id,
                invoice_url=invoice_url,
                status="invoiced",
                invoiced_at=func.now(),
                updated_at=func.now(),
                reconcile_at=func.now() + reconcile_in,
            )
        )

    async def load(self, order_id: UUID, *, lock: bool = False) -> Order | None:
        return await self._first(Order, by_key(orders.c.order_id, order_id, lock=lock))

    async def lock(self, order_id: UUID) -> Order | None:
        row = await (await self._uow.driver()).fetchrow(_LOCK_ORDER, order_id)
        return Order(**row) if row else None

    async def lines(self, order_id: UUID) -> list[Line]:
        rows = await (await self._uow.driver()).fetch(_LINES, order_id)
        return [Line(**row) for row in rows]

    async def save_state(self, state: OrderState) -> None:
        driver = await self._uow.driver()
        await driver.execute(_STORE_STATE[state.status == "paid"], *order_update_args(state))

    async def record_fulfilment(self, order_id: UUID, state: str, at: datetime) -> bool:
        driver = await self._uow.driver()
        return await driver.fetchval(_RECORD_FULFILMENT, order_id, state, at) is not None

    async def record_fulfilled(self, order_id: UUID, at: datetime) -> bool | None:
        row = await (await self._uow.driver()).fetchrow(_RECORD_FULFILLED, order_id, at)
        return None if row is None else bool(row[0])

    async def record_key_email(self, order_id: UUID, sent: bool) -> bool:
        driver = await self._uow.driver()
        return await driver.fetchval(_RECORD_KEY_EMAIL, order_id, sent) is not None

    async def set_status(self, order_id: UUID, status: str) -> None:
        await self._uow.session.execute(
            update(orders)
            .where(orders.c.order_id == order_id)
            .values(status=status, updated_at=func.now())
        )

    async def has_open_flag(self, order_id: UUID) -> bool:
        statement = select(flags.c.id).where(flags.c.order_id == order_id, flags.c.status == "open")
        return bool(await self._uow.session.scalar(statement.limit(1)))

    async def with_open_flags(self, order_ids: list[UUID]) -> set[UUID]:
        if not order_ids:
            return set()
        statement = select(flags.c.order_id).where(
            flags.c.order_id.in_(order_ids), flags.c.status == "open"
        )
        found = await self._uow.session.scalars(statement.distinct())
        return {order_id for order_id in found if order_id}

    async def find(
        self, which: OrderQuery, *, limit: int, after: tuple[datetime, UUID] | None = None
    ) -> list[Order]:
        statement = (
            select(orders)
            .where(*which.conditions())
            .order_by(orders.c.created_at.desc(), orders.c.order_id.desc())
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(
                tuple_(orders.c.created_at, orders.c.order_id) < tuple_(*after)
            )
        return await self._all(Order, statement)
