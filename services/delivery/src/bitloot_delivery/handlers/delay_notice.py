"""order.delayed: queue the one notice telling the customer their keys are late, or wait
for a preorder's release, and will come by email.

One notice per order: a redelivered event is stopped by the inbox, a second event for the
same order by the email log's unique index. If the keys are already stored (the events
crossed on the bus), the notice would only confuse: the keys email is on its way or out.
The order's lock, shared with keys.delivered, makes that check hold until commit.
"""

import logging

from bitloot_contracts.events import OrderDelayed
from bitloot_delivery.adapters.email_log import EmailLog
from bitloot_delivery.adapters.repository import DeliveryRepository
from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.domain.notices import DelayNotice
from bitloot_runtime.db import UnitOfWork

logger = logging.getLogger(__name__)


async def queue_delay_notice(event: OrderDelayed, uow: UnitOfWork) -> None:
    """The order.delayed handler."""
    repository = DeliveryRepository(uow.session)
    await repository.lock_order(event.order_id)
    if await repository.get(event.order_id) is not None:
        logger.info("keys already stored; no delay notice")
        return
    notice = DelayNotice(is_preorder=event.is_preorder, release_date=event.release_date)
    email_id = await EmailLog(uow.session).queue(
        event.order_id, EmailKind.DELAYED, event.customer_email, notice
    )
    if email_id is None:
        logger.info("delay notice already queued; not sent again")
        return
    release = None if event.release_date is None else event.release_date.isoformat()
    logger.info(
        "delay notice queued", extra={"is_preorder": event.is_preorder, "release_date": release}
    )
