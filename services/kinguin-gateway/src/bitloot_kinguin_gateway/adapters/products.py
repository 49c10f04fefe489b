"""The products table: which Kinguin products the catalog lists and what Kinguin last
said of each."""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bitloot_kinguin_gateway.adapters.orm import products
from bitloot_kinguin_gateway.adapters.sql import SqlRepository
from bitloot_kinguin_gateway.domain.product import Availability
from bitloot_kinguin_gateway.domain.product import Product as Product
from bitloot_kinguin_gateway.handlers.ports import Products

# Watched products never read (a seek on ix_products_watched_synced_at).
_UNREAD = "SELECT kinguin_product_id FROM products WHERE watched AND synced_at IS NULL"
# The prices read from Kinguin (the periodic sync) at most `$2` seconds ago, of products
# in stock when last heard of.
_PRICES = (
    "SELECT kinguin_product_id, price FROM products"
    " WHERE kinguin_product_id = ANY($1::text[]) AND price IS NOT NULL AND qty > 0"
    " AND synced_at > now() - make_interval(secs => $2)"
)


class ProductRepository(SqlRepository, Products):
    async def prices(self, product_ids: Iterable[str], max_age: float) -> dict[str, Decimal]:
        rows = await self._fetch(_PRICES, list(product_ids), max_age)
        return {row["kinguin_product_id"]: row["price"] for row in rows}

    async def set_listed(self, product_id: str, *, watched: bool, listed_at: datetime) -> bool:
        statement = (
            pg_insert(products)
            .values(kinguin_product_id=product_id, watched=watched, listed_at=listed_at)
            .on_conflict_do_update(
                index_elements=[products.c.kinguin_product_id],
                set_={"watched": watched, "listed_at": listed_at},
                where=products.c.listed_at.is_(None) | (products.c.listed_at < listed_at),
            )
            .returning(products.c.kinguin_product_id)
        )
        return (await self._session.execute(statement)).first() is not None

    async def get(self, product_id: str, *, for_update: bool = False) -> Product | None:
        query = select(products).where(products.c.kinguin_product_id == product_id)
        row = (
            await self._session.execute(query.with_for_update() if for_update else query)
        ).first()
        if row is None:
            return None
        known = None
        if row.qty is not None:
            known = Availability(row.qty, row.price, row.is_preorder, row.release_date)
        return Product(row.kinguin_product_id, row.watched, known, row.kinguin_updated_at)

    async def watched(self) -> list[str]:
        query = (
            select(products.c.kinguin_product_id)
            .where(products.c.watched)
            .order_by(products.c.synced_at.asc().nullsfirst(), products.c.kinguin_product_id)
        )
        return list((await self._session.scalars(query)).all())

    async def unread(self) -> list[str]:
        return [row["kinguin_product_id"] for row in await self._fetch(_UNREAD)]

    async def record(
        self, product_id: str, availability: Availability, at: datetime, *, synced: bool
    ) -> None:
        values: dict[str, object] = {
            "qty": availability.qty,
            "price": availability.price,
            "is_preorder": availability.is_preorder,
            "release_date": availability.release_date,
            "kinguin_updated_at": at,
        }
        if synced:
            values["synced_at"] = func.now()
        await self._session.execute(
            update(products).where(products.c.kinguin_product_id == product_id).values(**values)
        )

    async def mark_synced(self, product_id: str) -> None:
        await self._session.execute(
            update(products)
            .where(products.c.kinguin_product_id == product_id)
            .values(synced_at=func.now())
        )
