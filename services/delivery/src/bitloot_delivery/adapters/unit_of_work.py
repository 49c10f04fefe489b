"""Delivery's unit of work: one transaction, and the repositories that work in it."""

from functools import cached_property

from bitloot_delivery.adapters.email_log import EmailLogRepository
from bitloot_delivery.adapters.notices import NoticeRepository
from bitloot_delivery.adapters.rate_limits import RateLimitRepository
from bitloot_delivery.adapters.repository import DeliveryRepository
from bitloot_delivery.adapters.summaries import SummaryRepository
from bitloot_runtime.db import UnitOfWork


class DeliveryUnitOfWork(UnitOfWork):
    """`handlers.ports.DeliveryWork` on PostgreSQL: each repository is built on first use
    (no I/O) and reaches the unit's connection only when called."""

    @cached_property
    def deliveries(self) -> DeliveryRepository:
        return DeliveryRepository(self)

    @cached_property
    def emails(self) -> EmailLogRepository:
        return EmailLogRepository(self)

    @cached_property
    def notices(self) -> NoticeRepository:
        return NoticeRepository(self)

    @cached_property
    def rate_limits(self) -> RateLimitRepository:
        return RateLimitRepository(self)

    @cached_property
    def summaries(self) -> SummaryRepository:
        return SummaryRepository(self)
