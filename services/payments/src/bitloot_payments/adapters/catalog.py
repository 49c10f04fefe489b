"""The product catalog (`handlers.ports.Catalog`) in PostgreSQL."""

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert

from bitloot_payments.adapters.availability import SqlAvailabilities
from bitloot_payments.adapters.orm import products
from bitloot_payments.handlers.ports import Catalog
from bitloot_payments.handlers.ports import Product as Product
from bitloot_runtime.db import UnitOfWork


class SqlCatalog(Catalog):
    """Products in the unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def by_sku(self, skus: Iterable[str]) -> dict[str, Product]:
        statement = select(products).where(products.c.sku.in_(list(skus)))
        return {
            row.sku: Product(**row._mapping) for row in await self._uow.session.execute(statement)
        }

    async def all(self) -> list[Product]:
        rows = await self._uow.session.execute(select(products).order_by(products.c.sku))
        found = [Product(**row._mapping) for row in rows]
        known = await SqlAvailabilities(self._uow).of({p.kinguin_product_id for p in found})
        return [replace(p, availability=known.get(p.kinguin_product_id)) for p in found]

    async def sells(self, kinguin_product_id: str) -> bool:
        query = select(
            exists().where(
                products.c.kinguin_product_id == kinguin_product_id, products.c.active.is_(True)
            )
        )
        return bool(await self._uow.session.scalar(query))

    async def upsert(self, product: Product) -> Product:
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
        return Product(**(await self._uow.session.execute(statement)).one()._mapping)
