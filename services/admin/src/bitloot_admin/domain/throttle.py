"""Login rate limiting: at most `limit` attempts per key (a client address, a username)
in a fixed window; the attempt past that is refused until the window ends."""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Window:
    """Attempts counted for one key since `started_at`."""

    started_at: datetime
    attempts: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    window: Window
    retry_after: timedelta


def count_attempt(window: Window | None, now: datetime, limit: int, length: timedelta) -> Verdict:
    """Count one attempt against `window` (None: the key has none yet). A window that has
    ended starts afresh; a refused attempt is not counted, so the wait never grows."""
    if window is None or now >= window.started_at + length:
        return Verdict(True, Window(now, 1), timedelta(0))
    if window.attempts >= limit:
        return Verdict(False, window, window.started_at + length - now)
    return Verdict(True, Window(window.started_at, window.attempts + 1), timedelta(0))
