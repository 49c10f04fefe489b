"""Hearing how fulfillment is going (``order.status_changed``, through the inbox), so that
the order page tells the customer what the live status tells them, and so that a failed
order fulfilled after all does not also get its money back unseen.

The saga announces a transition only when the customer status changes or the order ends
(three events on the happy path: paid, reserving, fulfilled), so the state kept here is
the saga's state as last announced, not every step it takes: enough for the customer
status and for `fulfilled`, which is all payments acts on."""

import logging

from bitloot_contracts.events import OrderStatusChanged
from bitloot_payments.handlers.ports import PaymentsWork
from bitloot_payments.handlers.refunds import order_fulfilled

logger = logging.getLogger(__name__)


class RecordFulfilment:
    """``order.status_changed``: record the announced saga state if it is newer than the
    one known. An order we do not know is not an error here: payments started every saga,
    so it can only be a test or a replay from elsewhere, and there is nothing to show. A
    fulfilment that is the latest state cancels (or flags) the order's failed-order
    refund; whether there is one is asked by the same statement, so an order with none
    (most) costs no second one."""

    async def __call__(self, event: OrderStatusChanged, uow: PaymentsWork) -> None:
        if event.status == "fulfilled":
            has_refunds = await uow.orders.record_fulfilled(event.order_id, event.occurred_at)
            recorded = has_refunds is not None
        else:
            recorded = await uow.orders.record_fulfilment(
                event.order_id, event.status, event.occurred_at
            )
            has_refunds = False
        if not recorded:
            # Nothing changed, and the consumer's own line already records the message.
            logger.debug("older or unknown fulfilment state ignored", extra={"state": event.status})
        elif has_refunds:
            await order_fulfilled(uow, event.order_id)
