"""Fixed-window rate limits: which window a request falls in and how long until it ends.

The counting itself is in the database (shared by every instance); this is the pure
arithmetic around it.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
