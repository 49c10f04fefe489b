"""order.delayed: queue the one notice telling the customer their keys are late, or wait
for a preorder's release, and will come by email.

One notice per order: a redelivered event is stopped by the inbox, a second event for the
same order by the email log's unique index. If the keys are already stored (the events
crossed on the bus), the notice would only confuse: the keys email is on its way or out.
The order's lock, shared with keys.delivered, makes that check hold until commit.
"""

import logging

from bitloot_contracts.events import OrderDelayed
from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.domain.notices import DelayNotice
from bitloot_delivery.handlers.ports import DeliveryWork

logger = logging.getLogger(__name__)


class QueueDelayNotice:
    """The order.delayed handler."""

    async def __call__(self, event: OrderDelayed, uow: DeliveryWork) -> None:
        await uow.deliveries.lock_order(event.order_id)
        if await uow.deliveries.get(event.order_id) is not None:
            logger.info("keys already stored; no delay notice")
            return
        notice = DelayNotice(is_preorder=event.is_preorder, release_date=event.release_date)
        email_id = await uow.emails.queue(
            event.order_id, EmailKind.DELAYED, event.customer_email, notice
        )
        if email_id is None:
            logger.info("delay notice already queued; not sent again")
            return
        release = None if event.release_date is None else event.release_date.isoformat()
        extra = {"is_preorder": event.is_preorder, "release_date": release}
        logger.info("delay notice queued", extra=extra)
