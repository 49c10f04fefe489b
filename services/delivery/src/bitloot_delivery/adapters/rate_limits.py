"""Rate-limit counters in PostgreSQL, so that every instance of the service counts the
same hits: one row per (bucket, fixed window), incremented atomically."""

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_delivery.adapters.orm import rate_limits
from bitloot_delivery.domain.rate_limits import Limit, RateLimited


class RateLimiter:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def hit(self, limit: Limit, key: str, now: datetime) -> None:
        """Count one hit on `limit` for `key`; `RateLimited` once past its maximum."""
        insert = pg_insert(rate_limits).values(
            bucket=f"{limit.name}:{key}", window_start=limit.window_start(now), hits=1
        )
        statement = insert.on_conflict_do_update(
            index_elements=[rate_limits.c.bucket, rate_limits.c.window_start],
            set_={"hits": rate_limits.c.hits + 1},
        ).returning(rate_limits.c.hits)
        hits = (await self._session.execute(statement)).scalar_one()
        if hits > limit.max_hits:
            raise RateLimited(limit, limit.retry_after(now))

    async def forget_before(self, cutoff: datetime) -> int:
        """Drop the counters of windows that started before `cutoff`; how many."""
        result = await self._session.execute(
            delete(rate_limits).where(rate_limits.c.window_start < cutoff)
        )
        return int(getattr(result, "rowcount", 0))
