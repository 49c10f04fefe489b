"""Rate-limit counters in delivery's PostgreSQL (the runtime's counter, on its table)."""

from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_delivery.adapters.orm import rate_limits
from bitloot_runtime import rate_limits as shared


class RateLimiter(shared.RateLimiter):
    def __init__(self, session: AsyncConnection) -> None:
        super().__init__(session, rate_limits)
