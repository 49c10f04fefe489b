"""Durable timers of the saga, as the domain sees them: which to set, which to drop.

The saga never reads a clock. It says "poll again in 2 minutes" or "give up in 30
minutes"; the handler stores that as a due time, and the sweeper hands the timer back
to the saga when it comes due (`OrderSaga.timer_fired`), on whichever instance runs.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

POLL: Final = "poll"
DEADLINE: Final = "deadline"


@dataclass(frozen=True)
class TimerPolicy:
    """When to poll a silent Kinguin order, and when to stop waiting for it."""

    first_poll: timedelta
    poll_factor: float
    max_poll_interval: timedelta
    max_age: timedelta

    def poll_delay(self, attempt: int) -> timedelta:
        """Delay before poll number `attempt` (1-based): the first delay, growing by the
        factor each time, never above the cap."""
        grown = self.first_poll * (self.poll_factor ** (attempt - 1))
        return min(grown, self.max_poll_interval)


@dataclass(frozen=True)
class Schedule:
    """Set timer `kind` (replacing any of the same kind) to fire after `delay`."""

    kind: str
    delay: timedelta
    attempt: int


@dataclass
class TimerSet:
    """The timer changes one saga step decided, in order; the handler applies them."""

    scheduled: list[Schedule] = field(default_factory=list)
    cancelled: set[str] = field(default_factory=set)

    def schedule_poll(self, policy: TimerPolicy, attempt: int) -> None:
        self._schedule(Schedule(POLL, policy.poll_delay(attempt), attempt))

    def schedule_deadline(self, policy: TimerPolicy) -> None:
        self._schedule(Schedule(DEADLINE, policy.max_age, 1))

    def cancel_poll(self) -> None:
        self._cancel(POLL)

    def cancel_all(self) -> None:
        self._cancel(POLL)
        self._cancel(DEADLINE)

    def _schedule(self, schedule: Schedule) -> None:
        self.cancelled.discard(schedule.kind)
        self.scheduled = [s for s in self.scheduled if s.kind != schedule.kind] + [schedule]

    def _cancel(self, kind: str) -> None:
        self.scheduled = [s for s in self.scheduled if s.kind != kind]
        self.cancelled.add(kind)

    def clear(self) -> None:
        self.scheduled.clear()
        self.cancelled.clear()


@dataclass(frozen=True)
class DueTimer:
    """A stored timer that came due, for the sweeper to hand back to its saga."""

    order_id: UUID
    kind: str
    attempt: int
    due_at: datetime
