"""Rate-limit counters in delivery's PostgreSQL (the runtime's counter, on its table)."""

from datetime import datetime

from bitloot_delivery.adapters.orm import rate_limits
from bitloot_delivery.domain.rate_limits import Limit
from bitloot_delivery.handlers.ports import RateLimits
from bitloot_runtime import rate_limits as shared
from bitloot_runtime.db import UnitOfWork


class RateLimitRepository(RateLimits):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def hit(self, limit: Limit, key: str, now: datetime) -> None:
        await shared.RateLimiter(self._uow.session, rate_limits).hit(limit, key, now)

    async def forget_before(self, before: datetime) -> None:
        await shared.RateLimiter(self._uow.session, rate_limits).forget_before(before)
