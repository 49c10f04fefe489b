"""payment.finished: keep what the order is, in words (its products, what was paid), for
the key email and the reveal page. Nothing else of the payment concerns delivery.

The key email does not wait for it: sent without a summary it names the order number
only (see domain.emails.compose)."""

import logging

from bitloot_contracts.events import PaymentFinished
from bitloot_delivery.domain.summaries import summary_of
from bitloot_delivery.handlers.ports import DeliveryWork

logger = logging.getLogger(__name__)


class RecordOrderSummary:
    """The payment.finished handler."""

    async def __call__(self, event: PaymentFinished, uow: DeliveryWork) -> None:
        if await uow.summaries.record(event.order_id, summary_of(event), event.occurred_at):
            logger.info("order summary recorded", extra={"line_count": len(event.lines)})
        else:
            logger.info("order summary already recorded")
