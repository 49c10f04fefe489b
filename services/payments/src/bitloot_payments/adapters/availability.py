"""What Kinguin last had of each catalog product, as the gateway observed it."""

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from bitloot_payments.adapters.orm import SqlRepository, product_availability
from bitloot_payments.domain.availability import Availability
from bitloot_payments.handlers.ports import Availabilities


class SqlAvailabilities(SqlRepository, Availabilities):
    async def record(self, availability: Availability) -> bool:
        values = {
            "kinguin_product_id": availability.kinguin_product_id,
            "qty": availability.qty,
            "price": availability.price,
            "is_preorder": availability.is_preorder,
            "release_date": availability.release_date,
            "observed_at": availability.observed_at,
        }
        table = product_availability
        statement = (
            insert(table)
            .values(**values)
            .on_conflict_do_update(
                index_elements=[table.c.kinguin_product_id],
                set_={**values, "updated_at": func.now()},
                where=table.c.observed_at < availability.observed_at,
            )
            .returning(table.c.kinguin_product_id)
        )
        return (await self._uow.session.execute(statement)).first() is not None

    async def of(self, product_ids: Iterable[str]) -> dict[str, Availability]:
        table = product_availability
        rows = await self._uow.session.execute(
            select(*(c for c in table.c if c.name != "updated_at")).where(
                table.c.kinguin_product_id.in_(list(product_ids))
            )
        )
        return {row.kinguin_product_id: Availability(**row._mapping) for row in rows}
