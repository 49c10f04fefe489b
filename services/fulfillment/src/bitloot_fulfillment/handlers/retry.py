"""An admin retries a failed or stuck order, where that is safe (see `OrderSaga.retry`)."""

import logging
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Retried:
    """What a retry set in motion: the saga's new state, and in words what it waits for."""

    previous_state: OrderState
    state: OrderState
    summary: str


# What the saga waits for in each state a retry can leave it in.
_SUMMARIES: dict[str, str] = {
    "reserving": (
        "Requested — still reserving: the Kinguin gateway looks up every earlier Kinguin "
        "order of this order and buys only if none stands."
    ),
    "reserved": "Requested — reserved: the order is bought; waiting for Kinguin to complete it.",
    "keys_requested": "Requested — keys requested again from the Kinguin gateway.",
}


async def retry_order(order_id: UUID, uow: UnitOfWork, policy: TimerPolicy) -> Retried:
    """Retry a failed or stuck order and say what that set in motion; `RetryRefused`
    leaves it untouched. Stuck: not ended, and no step for longer than its deadline."""
    with log_context(order_id=str(order_id)):
        repository = SagaRepository(uow)
        saga = await repository.get_for_update(order_id)
        if saga is None:
            raise SagaNotFound(order_id)
        previous = saga.state
        idle = await repository.idle_for(order_id)
        stuck = idle is not None and idle > policy.max_age
        try:
            saga.retry(policy, stuck=stuck)
        except RetryRefused as refused:
            logger.warning("admin retry refused", extra={"reason": refused.code})
            raise
        await store_outcome(uow, saga)
        await uow.commit()
        logger.info("order retried by an admin", extra={"state": saga.state, "previous": previous})
        summary = _SUMMARIES.get(saga.state, f"Requested — the order is {saga.state}.")
        return Retried(previous, saga.state, summary)
