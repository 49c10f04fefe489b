"""An admin retries a failed order, where that is safe (see `OrderSaga.retry`)."""

import logging
from uuid import UUID

from bitloot_contracts.events import OrderState
from bitloot_fulfillment.adapters.repository import SagaRepository
from bitloot_fulfillment.domain.saga import RetryRefused
from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_fulfillment.handlers.saga import store_outcome
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.errors import BitlootError
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class SagaNotFound(BitlootError):
    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"No saga for order {order_id}.")


async def retry_order(order_id: UUID, uow: UnitOfWork, policy: TimerPolicy) -> OrderState:
    """Retry the order and return its new state; `RetryRefused` leaves it untouched."""
    with log_context(order_id=str(order_id)):
        repository = SagaRepository(uow.session)
        saga = await repository.get_for_update(order_id)
        if saga is None:
            raise SagaNotFound(order_id)
        try:
            saga.retry(policy)
        except RetryRefused as refused:
            logger.warning("admin retry refused", extra={"reason": refused.code})
            raise
        await repository.save(saga)
        await store_outcome(uow, saga)
        await uow.commit()
        logger.info("failed order retried by an admin", extra={"state": saga.state})
        return saga.state
