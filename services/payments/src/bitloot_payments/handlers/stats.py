"""The figures of payments on the admin's home page, read in one unit of work."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bitloot_payments.adapters import stats
from bitloot_payments.adapters.stats import OpenItems
from bitloot_runtime.db import UnitOfWork


@dataclass(frozen=True)
class PaymentStats:
    """Per hour since a time: orders placed, paid, failed and refunds falling due; and
    what waits for an admin now: open flags and refunds owed."""

    hours: dict[datetime, dict[str, int]]
    open_flags: OpenItems
    refunds_owed: OpenItems


async def payment_stats(unit_of_work: Callable[[], UnitOfWork], since: datetime) -> PaymentStats:
    async with unit_of_work() as uow:
        return PaymentStats(
            hours=await stats.hourly(uow.session, since),
            open_flags=await stats.open_flags(uow.session),
            refunds_owed=await stats.refunds_owed(uow.session),
        )
