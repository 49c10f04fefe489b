"""An admin retries a failed or stuck order, where that is safe (see `OrderSaga.retry`)."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import UUID

from bitloot_contracts.events import OrderState
from bitloot_fulfillment.domain.saga import OrderSaga, Refused
from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_fulfillment.handlers.ports import FulfillmentWork
from bitloot_runtime.errors import BitlootError
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class SagaNotFound(BitlootError):
    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"No saga for order {order_id}.")


@asynccontextmanager
async def admin_step(
    unit_of_work: Callable[[], FulfillmentWork],
    order_id: UUID,
    log: logging.Logger,
    refusal: str,
    **extra: str,
) -> AsyncIterator[tuple[FulfillmentWork, OrderSaga]]:
    """An admin's step on the order's saga, locked: stored and committed after the block;
    a `Refused` from the block is logged as `refusal` and leaves everything untouched."""
    async with unit_of_work() as uow:
        saga = await uow.sagas.get_for_update(order_id)
        if saga is None:
            raise SagaNotFound(order_id)
        try:
            yield uow, saga
        except Refused as refused:
            log.warning(refusal, extra={"reason": refused.code, **extra})
            raise
        await uow.sagas.store_step(saga)
        await uow.commit()


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


class RetryOrder:
    """Retry a failed or stuck order and say what that set in motion; `RetryRefused`
    leaves it untouched. Stuck: not ended, and no step for longer than its deadline."""

    def __init__(self, unit_of_work: Callable[[], FulfillmentWork], policy: TimerPolicy) -> None:
        self._unit_of_work = unit_of_work
        self._policy = policy

    async def __call__(self, order_id: UUID) -> Retried:
        with log_context(order_id=str(order_id)):
            step = admin_step(self._unit_of_work, order_id, logger, "admin retry refused")
            async with step as (uow, saga):
                previous = saga.state
                idle = await uow.sagas.idle_for(order_id)
                saga.retry(self._policy, stuck=idle is not None and idle > self._policy.max_age)
            logger.info(
                "order retried by an admin", extra={"state": saga.state, "previous": previous}
            )
            summary = _SUMMARIES.get(saga.state, f"Requested — the order is {saga.state}.")
            return Retried(previous, saga.state, summary)
