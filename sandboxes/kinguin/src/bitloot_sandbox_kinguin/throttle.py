"""Kinguin's rate limit per API key (2,000 requests a minute by default), and when each
API call arrived, so that a test can count a buyer's calls per window.

Kinguin's documentation states no limit nor how it is counted; the sandbox enforces the
strictest reading of "N a minute": a call is answered 429 when `per_minute` calls were
already accepted in the 60 seconds before it (a sliding window). Refused calls do not
count. 0 turns the limit off (the default).
"""

import math
import time
from collections import deque
from collections.abc import Callable

from pydantic import JsonValue

WINDOW_SECONDS = 60.0


class Throttle:
    """Accepts at most `per_minute` calls in any 60 s; records every arrival."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._started = clock()
        self._accepted: deque[float] = deque()
        # Seconds since the sandbox started at which each API call arrived, in order.
        self.arrivals: list[float] = []
        self.refused = 0

    def admit(self) -> int | None:
        """Record a call arriving now; None to serve it, else the seconds to ask it to
        wait (Retry-After) until the window has room."""
        now = self._clock()
        self.arrivals.append(now - self._started)
        if not self.per_minute:
            return None
        while self._accepted and self._accepted[0] <= now - WINDOW_SECONDS:
            self._accepted.popleft()
        if len(self._accepted) >= self.per_minute:
            self.refused += 1
            return max(1, math.ceil(self._accepted[0] + WINDOW_SECONDS - now))
        self._accepted.append(now)
        return None

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "per_minute": self.per_minute,
            "arrivals": [*self.arrivals],
            "refused": self.refused,
        }
