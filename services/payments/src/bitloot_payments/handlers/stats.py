"""The figures of payments on the admin's home page, read in one unit of work."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bitloot_payments.handlers.ports import OpenItems, PaymentsWork


@dataclass(frozen=True)
class PaymentStats:
    """Per hour since a time: orders placed, paid, failed and refunds falling due; and
    what waits for an admin now: open flags and refunds owed."""

    hours: dict[datetime, dict[str, int]]
    open_flags: OpenItems
    refunds_owed: OpenItems


class ReadStats:
    """The figures since a time, read together."""

    def __init__(self, unit_of_work: Callable[[], PaymentsWork]) -> None:
        self._unit_of_work = unit_of_work

    async def __call__(self, since: datetime) -> PaymentStats:
        async with self._unit_of_work() as uow:
            figures = uow.figures
            return PaymentStats(
                hours=await figures.hourly(since),
                open_flags=await figures.open_flags(),
                refunds_owed=await figures.refunds_owed(),
            )
