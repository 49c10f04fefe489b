"""Hearing what Kinguin has of the catalog's products (``product.availability_changed``,
from the gateway, through the inbox), so that checkout refuses what cannot be bought."""

import logging

from bitloot_contracts.events import ProductAvailabilityChanged
from bitloot_payments.domain.availability import Availability
from bitloot_payments.handlers.ports import PaymentsWork

logger = logging.getLogger(__name__)


class RecordAvailability:
    """Keep the observation if it is newer than the one stored (events come in any order)."""

    async def __call__(self, event: ProductAvailabilityChanged, uow: PaymentsWork) -> None:
        applied = await uow.availability.record(
            Availability(
                kinguin_product_id=event.kinguin_product_id,
                qty=event.qty,
                price=event.price,
                is_preorder=event.is_preorder,
                release_date=event.release_date,
                observed_at=event.observed_at,
            ),
        )
        logger.info(
            "kinguin availability recorded" if applied else "older kinguin availability ignored",
            extra={"kinguin_product_id": event.kinguin_product_id, "qty": event.qty},
        )
