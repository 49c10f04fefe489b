"""Fixed-window rate limits for public pages (fresh reveal links, refund claims), counted
in the service's own PostgreSQL table so that every instance counts the same hits.

`Limit` is the pure arithmetic: which window a request falls in and how long until it
ends. `RateLimiter` counts one hit per (bucket, window) atomically in a table of the shape
`rate_limits_table` builds.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    delete,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Limit:
    """At most `max_hits` per `window` for one bucket (an order, a client address)."""

    name: str
    max_hits: int
    window: timedelta

    def window_start(self, now: datetime) -> datetime:
        elapsed = (now - _EPOCH) // self.window
        return _EPOCH + elapsed * self.window

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        remaining = self.window_start(now) + self.window - now
        return max(1, math.ceil(remaining.total_seconds()))


class RateLimited(Exception):
    """Too many requests in a bucket; `retry_after` seconds until it admits more."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(f"Rate limit {limit.name!r} exceeded; retry in {retry_after} s.")
        self.limit = limit
        self.retry_after = retry_after


def rate_limits_table(metadata: MetaData) -> Table:
    """The counters: one row per (bucket, fixed window)."""
    return Table(
        "rate_limits",
        metadata,
        Column("bucket", Text, nullable=False),
        Column("window_start", DateTime(timezone=True), nullable=False),
        Column("hits", Integer, nullable=False),
        PrimaryKeyConstraint("bucket", "window_start", name="pk_rate_limits"),
    )


class RateLimiter:
    """Counts hits in `table` (see `rate_limits_table`) within the caller's transaction."""

    def __init__(self, session: AsyncConnection, table: Table) -> None:
        self._session = session
        self._table = table

    async def hit(self, limit: Limit, key: str, now: datetime) -> None:
        """Count one hit on `limit` for `key`; `RateLimited` once past its maximum."""
        counters = self._table
        insert = pg_insert(counters).values(
            bucket=f"{limit.name}:{key}", window_start=limit.window_start(now), hits=1
        )
        statement = insert.on_conflict_do_update(
            index_elements=[counters.c.bucket, counters.c.window_start],
            set_={"hits": counters.c.hits + 1},
        ).returning(counters.c.hits)
        hits = (await self._session.execute(statement)).scalar_one()
        if hits > limit.max_hits:
            raise RateLimited(limit, limit.retry_after(now))

    async def forget_before(self, cutoff: datetime) -> int:
        """Drop the counters of windows that started before `cutoff`; how many."""
        result = await self._session.execute(
            delete(self._table).where(self._table.c.window_start < cutoff)
        )
        return int(getattr(result, "rowcount", 0))
