"""How long keys are kept: a configurable period from the moment they were stored, and
never a moment less."""

from dataclasses import dataclass
from datetime import datetime, timedelta


class KeysPurged(Exception):
    """The keys were deleted after the retention period; nothing can reveal them now."""


@dataclass(frozen=True)
class RetentionPolicy:
    period: timedelta

    def __post_init__(self) -> None:
        if self.period <= timedelta(0):
            raise ValueError(f"Retention period {self.period} is not positive.")

    def stored_before(self, now: datetime) -> datetime:
        """Keys stored strictly before this instant are due for deletion at `now`."""
        return now - self.period
