"""An admin delivers a failed or stuck order's keys by hand (see `OrderSaga.delivered_by_hand`).

The keys arrive sealed to delivery's public key; fulfillment never sees them, only hands
the sealed payload on in `keys.delivered`, through the outbox, in the transaction that
moves the saga to `delivering` under its row lock (so two admins cannot both deliver).
"""

import logging
from collections.abc import Callable
from uuid import UUID

from bitloot_contracts.events import OrderState, SealedKeys
from bitloot_fulfillment.domain.saga import ManualDeliveryRefused
from bitloot_fulfillment.handlers.ports import FulfillmentWork
from bitloot_fulfillment.handlers.retry import SagaNotFound
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
            async with self._unit_of_work() as uow:
                saga = await uow.sagas.get_for_update(order_id)
                if saga is None:
                    raise SagaNotFound(order_id)
                stuck = await uow.sagas.deadline_passed(order_id)
                try:
                    saga.delivered_by_hand(actor, key_count, sealed, stuck=stuck)
                except ManualDeliveryRefused as refused:
                    logger.warning(
                        "manual delivery refused", extra={"reason": refused.code, "actor": actor}
                    )
                    raise
                await uow.sagas.store_step(saga)
                await uow.commit()
            logger.info("keys delivered by hand", extra={"actor": actor, "key_count": key_count})
            return saga.state
