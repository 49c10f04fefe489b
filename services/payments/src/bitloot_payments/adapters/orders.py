"""Orders and their lines in the payments database."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_payments.adapters.orm import order_lines, orders
from bitloot_payments.domain.order import PricedLine


@dataclass(frozen=True)
class Order:
    """An order as stored."""

    order_id: UUID
    email: str
    status: str
    total: Decimal
    currency: str
    invoice_id: str | None
    invoice_url: str | None
    payment_id: str | None
    payment_status: str | None
    invoiced_at: datetime | None
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Line:
    """One line of a stored order."""

    sku: str
    kinguin_product_id: str
    qty: int
    unit_price: Decimal
    max_unit_price: Decimal


async def insert_order(
    session: AsyncSession,
    order_id: UUID,
    email: str,
    lines: list[PricedLine],
    total: Decimal,
    currency: str,
) -> None:
    """A new order in status `created`, with its lines."""
    await session.execute(
        insert(orders).values(
            order_id=order_id, email=email, status="created", total=total, currency=currency
        )
    )
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


async def record_invoice(
    session: AsyncSession, order_id: UUID, invoice_id: str, invoice_url: str
) -> None:
    """The order's invoice exists: status `invoiced`."""
    await session.execute(
        update(orders)
        .where(orders.c.order_id == order_id)
        .values(
            invoice_id=invoice_id,
            invoice_url=invoice_url,
            status="invoiced",
            invoiced_at=func.now(),
            updated_at=func.now(),
        )
    )


async def load_order(session: AsyncSession, order_id: UUID, *, lock: bool = False) -> Order | None:
    """The order, or None; with `lock`, held FOR UPDATE until the transaction ends."""
    statement = select(orders).where(orders.c.order_id == order_id)
    if lock:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).first()
    return Order(**row._mapping) if row else None


async def load_lines(session: AsyncSession, order_id: UUID) -> list[Line]:
    rows = await session.execute(
        select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.sku)
    )
    return [Line(r.sku, r.kinguin_product_id, r.qty, r.unit_price, r.max_unit_price) for r in rows]


async def record_payment(
    session: AsyncSession,
    order_id: UUID,
    *,
    payment_id: str,
    payment_status: str,
    status: str,
) -> None:
    """The payment's latest status (and the order's status that follows from it)."""
    values: dict[str, object] = {
        "payment_id": payment_id,
        "payment_status": payment_status,
        "status": status,
        "updated_at": func.now(),
    }
    if status == "paid":
        values["paid_at"] = func.now()
    await session.execute(update(orders).where(orders.c.order_id == order_id).values(**values))


async def list_orders(
    session: AsyncSession,
    *,
    limit: int,
    email: str | None = None,
    status: str | None = None,
    before: datetime | None = None,
) -> list[Order]:
    """Orders newest first, optionally filtered, created strictly before `before`."""
    statement = select(orders).order_by(orders.c.created_at.desc()).limit(limit)
    if email is not None:
        statement = statement.where(orders.c.email == email.strip().lower())
    if status is not None:
        statement = statement.where(orders.c.status == status)
    if before is not None:
        statement = statement.where(orders.c.created_at < before)
    return [Order(**row._mapping) for row in await session.execute(statement)]
