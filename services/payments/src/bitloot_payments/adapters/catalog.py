"""The product catalog: what can be ordered, at what price, and the most we pay Kinguin."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_payments.adapters.availability import availability_of
from bitloot_payments.adapters.orm import products
from bitloot_payments.domain.availability import Availability


@dataclass(frozen=True)
class Product:
    """One catalog entry."""

    sku: str
    title: str
    kinguin_product_id: str
    price: Decimal
    currency: str
    max_purchase_price: Decimal
    active: bool
    # Where its keys are redeemed (Kinguin's `platform`), for the customer's redemption help.
    platform: str | None = None
    updated_at: datetime | None = None
    # What Kinguin last had of it (None: never observed); filled by `all_products` only.
    availability: Availability | None = None


async def products_by_sku(session: AsyncConnection, skus: Iterable[str]) -> dict[str, Product]:
    """The products among `skus` that exist (active or not), by sku."""
    rows = await session.execute(select(products).where(products.c.sku.in_(list(skus))))
    return {row.sku: Product(**row._mapping) for row in rows}


async def all_products(session: AsyncConnection) -> list[Product]:
    """Every product, with what Kinguin last had of it."""
    rows = await session.execute(select(products).order_by(products.c.sku))
    found = [Product(**row._mapping) for row in rows]
    known = await availability_of(session, {p.kinguin_product_id for p in found})
    return [replace(p, availability=known.get(p.kinguin_product_id)) for p in found]


async def sells(session: AsyncConnection, kinguin_product_id: str) -> bool:
    """Whether an active product is sold as `kinguin_product_id`."""
    query = select(
        exists().where(
            products.c.kinguin_product_id == kinguin_product_id, products.c.active.is_(True)
        )
    )
    return bool(await session.scalar(query))


async def upsert_product(session: AsyncConnection, product: Product) -> Product:
    """Create or replace the product with `product.sku`; the stored row."""
    values = {
        "sku": product.sku,
        "title": product.title,
        "kinguin_product_id": product.kinguin_product_id,
        "price": product.price,
        "currency": product.currency,
        "max_purchase_price": product.max_purchase_price,
        "active": product.active,
        "platform": product.platform,
    }
    statement = (
        insert(products)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[products.c.sku], set_={**values, "updated_at": func.now()}
        )
        .returning(*products.c)
    )
    row = (await session.execute(statement)).one()
    return Product(**row._mapping)
