"""The figures of fulfillment on the admin's home page, read in one session."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bitloot_fulfillment.adapters import stats
from bitloot_fulfillment.adapters.stats import Hour, WaitingOrders


@dataclass(frozen=True)
class FulfillmentStats:
    """Per hour since a time and over the whole window: orders fulfilled and failed and
    time-to-key; and the orders waiting for an admin now (failed, stuck)."""

    hours: list[Hour]
    window: Hour
    failed: WaitingOrders
    stuck: WaitingOrders


async def fulfillment_stats(
    sessionmaker: async_sessionmaker[AsyncSession], since: datetime, deadline: timedelta
) -> FulfillmentStats:
    async with sessionmaker() as session:
        found = await stats.hourly(session, since)
        failed = await stats.failed_orders(session)
        stuck = await stats.stuck_orders(session, deadline)
    whole = [hour for hour in found if hour.hour is None]
    window = whole[0] if whole else Hour(None, 0, 0, None, None)
    return FulfillmentStats([h for h in found if h.hour is not None], window, failed, stuck)
