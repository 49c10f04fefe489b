"""Delivery's unit of work: one transaction, and the repositories that work in it."""

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bitloot_delivery.adapters.email_log import EmailLogRepository
from bitloot_delivery.adapters.notices import NoticeRepository
from bitloot_delivery.adapters.rate_limits import RateLimitRepository
from bitloot_delivery.adapters.repository import DeliveryRepository
from bitloot_delivery.adapters.summaries import SummaryRepository
from bitloot_runtime.db import EventObserver, UnitOfWork


class DeliveryUnitOfWork(UnitOfWork):
    """`handlers.ports.DeliveryWork` on PostgreSQL. The repositories reach the unit's
    connection only when called (after it is entered): building them costs no I/O."""

    def __init__(
        self,
        source: AsyncEngine | async_sessionmaker[AsyncSession],
        observers: Mapping[str, Sequence[EventObserver]] | None = None,
    ) -> None:
        super().__init__(source, observers)
        self.deliveries = DeliveryRepository(self)
        self.emails = EmailLogRepository(self)
        self.notices = NoticeRepository(self)
        self.rate_limits = RateLimitRepository(self)
        self.summaries = SummaryRepository(self)
