"""The figures of fulfillment on the admin's home page, read in one unit of work."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bitloot_fulfillment.domain.stats import Hour, WaitingOrders
from bitloot_fulfillment.handlers.ports import FulfillmentWork


@dataclass(frozen=True)
class FulfillmentStats:
    """Per hour since a time and over the whole window: orders fulfilled and failed and
    time-to-key; and the orders waiting for an admin now (failed, stuck)."""

    hours: list[Hour]
    window: Hour
    failed: WaitingOrders
    stuck: WaitingOrders


class ReadStats:
    """The figures since a time; stuck: not moved for longer than `deadline`."""

    def __init__(self, unit_of_work: Callable[[], FulfillmentWork], deadline: timedelta) -> None:
        self._unit_of_work = unit_of_work
        self._deadline = deadline

    async def __call__(self, since: datetime) -> FulfillmentStats:
        async with self._unit_of_work() as uow:
            found = await uow.figures.hourly(since)
            failed = await uow.figures.failed_orders()
            stuck = await uow.figures.stuck_orders(self._deadline)
        whole = [hour for hour in found if hour.hour is None]
        window = whole[0] if whole else Hour(None, 0, 0, None, None)
        return FulfillmentStats([h for h in found if h.hour is not None], window, failed, stuck)
