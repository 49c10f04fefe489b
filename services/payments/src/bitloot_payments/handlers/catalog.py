"""Changing the catalog, and telling the gateway which Kinguin products it sells."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bitloot_contracts.events import ProductListed
from bitloot_payments.handlers.ports import PaymentsWork, Product

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SaveProduct:
    unit_of_work: Callable[[], PaymentsWork]

    async def __call__(self, product: Product) -> Product:
        """Create or replace the product, and announce whether each Kinguin product it was
        or is now sold as is still sold by an active product (`catalog.product_listed`),
        so the gateway watches its stock and price while it is."""
        async with self.unit_of_work() as uow:
            before = (await uow.catalog.by_sku([product.sku])).get(product.sku)
            saved = await uow.catalog.upsert(product)
            touched = {saved.kinguin_product_id}
            if before is not None:
                touched.add(before.kinguin_product_id)
            for kinguin_product_id in sorted(touched):
                active = await uow.catalog.sells(kinguin_product_id)
                await uow.emit(ProductListed(kinguin_product_id=kinguin_product_id, active=active))
                logger.info(
                    "catalog listing announced",
                    extra={"kinguin_product_id": kinguin_product_id, "active": active},
                )
            await uow.commit()
        return saved
