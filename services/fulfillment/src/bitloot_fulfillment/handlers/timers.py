"""Firing due timers: the sweeper every instance runs in the background.

Due timers are claimed with FOR UPDATE SKIP LOCKED, so with several instances each timer
fires on exactly one of them; a timer whose saga is busy (a handler holds it) is left
for the next sweep rather than waited on, so the sweeper and a handler never deadlock.
Timers live in the database: an instance that stops loses none, and the next sweep of
any instance fires those that came due meanwhile.
"""

import logging
from collections.abc import Callable

from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_fulfillment.handlers.ports import FulfillmentWork
from bitloot_runtime.logging import log_context
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)


class FireDueTimers:
    """Fire up to `limit` due timers in the caller's unit of work; the number fired."""

    def __init__(self, policy: TimerPolicy, limit: int) -> None:
        self._policy = policy
        self._limit = limit

    async def __call__(self, uow: FulfillmentWork) -> int:
        fired = 0
        for timer in await uow.sagas.claim_due_timers(self._limit):
            # A timer is written with its saga, so a saga not returned here is locked by
            # a handler: leave its timer for the next sweep.
            saga = await uow.sagas.get_for_update(timer.order_id, skip_locked=True)
            if saga is None:
                continue
            # Deleted before the saga reacts, which may set the next timer of the same kind.
            await uow.sagas.delete_timer(timer)
            with log_context(order_id=str(timer.order_id)):
                logger.info("timer fired", extra={"kind": timer.kind, "attempt": timer.attempt})
            saga.timer_fired(timer.kind, timer.attempt, self._policy)
            await uow.sagas.store_step(saga)
            fired += 1
        return fired


def timer_sweeper(
    unit_of_work: Callable[[], FulfillmentWork], policy: TimerPolicy, interval: float, batch: int
) -> Worker:
    """The "timers" worker: fires due timers every `interval` seconds (at once again after
    a full batch: more may be due); a failed sweep is logged and tried again."""

    async def sweep() -> bool:
        async with unit_of_work() as uow:
            fired = await FireDueTimers(policy, batch)(uow)
            await uow.commit()
        return fired >= batch

    return Worker("timers", sweep, interval=interval)
