"""An admin delivers a failed or stuck order's keys by hand (see `OrderSaga.delivered_by_hand`).

The keys arrive sealed to delivery's public key; fulfillment never sees them, only hands
the sealed payload on in `keys.delivered`, through the outbox, in the transaction that
moves the saga to `delivering` under its row lock (so two admins cannot both deliver).
"""

import logging
from collections.abc import Callable
from uuid import UUID

from bitloot_contracts.events import OrderState, SealedKeys
from bitloot_fulfillment.handlers.ports import FulfillmentWork
from bitloot_fulfillment.handlers.retry import admin_step
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class DeliverByHand:
    """Hand the sealed keys to delivery and return the saga's new state;
    `ManualDeliveryRefused` leaves everything untouched."""

    def __init__(self, unit_of_work: Callable[[], FulfillmentWork]) -> None:
        self._unit_of_work = unit_of_work

    async def __call__(
        self, order_id: UUID, actor: str, key_count: int, sealed: SealedKeys
    ) -> OrderState:
        with log_context(order_id=str(order_id)):
            refusal = "manual delivery refused"
            step = admin_step(self._unit_of_work, order_id, logger, refusal, actor=actor)
            async with step as (uow, saga):
                stuck = await uow.sagas.deadline_passed(order_id)
                saga.delivered_by_hand(actor, key_count, sealed, stuck=stuck)
            logger.info("keys delivered by hand", extra={"actor": actor, "key_count": key_count})
            return saga.state
