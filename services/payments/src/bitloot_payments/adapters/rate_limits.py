"""Rate-limit counters in payments' PostgreSQL (the runtime's counter, on its table)."""

from datetime import datetime

from bitloot_payments.adapters.orm import SqlRepository, rate_limits
from bitloot_payments.handlers.ports import RateLimits
from bitloot_runtime.rate_limits import Limit, RateLimiter


class SqlRateLimits(SqlRepository, RateLimits):
    async def hit(self, limit: Limit, key: str, now: datetime) -> None:
        await RateLimiter(self._uow.session, rate_limits).hit(limit, key, now)

    async def forget_before(self, before: datetime) -> int:
        return await RateLimiter(self._uow.session, rate_limits).forget_before(before)
