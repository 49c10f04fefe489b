"""The product catalog (`handlers.ports.Catalog`) in PostgreSQL."""

from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert

from bitloot_payments.adapters.availability import SqlAvailabilities
from bitloot_payments.adapters.orm import SqlRepository, products
from bitloot_payments.handlers.ports import Catalog
from bitloot_payments.handlers.ports import Product as Product


class SqlCatalog(SqlRepository, Catalog):
    async def by_sku(self, skus: Iterable[str]) -> dict[str, Product]:
        statement = select(products).where(products.c.sku.in_(list(skus)))
        return {product.sku: product for product in await self._all(Product, statement)}

    async def all(self) -> list[Product]:
        found = await self._all(Product, select(products).order_by(products.c.sku))
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
        return await self._one(Product, statement)
