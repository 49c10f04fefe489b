"""What we know of the Kinguin account's balance (EUR, the currency of every Kinguin
price), and when it is low.

Kinguin pays every order from this balance and refuses an order it cannot cover
(`InsufficientBalance`), so a balance below the operator's threshold must be seen before
orders fail one by one. A reading that fails keeps the last good one, marked stale with
the error, rather than forgetting it.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum


class Crossing(Enum):
    """How a new reading moved the balance against the threshold."""

    FELL_BELOW = "fell_below"
    RECOVERED = "recovered"


@dataclass(frozen=True)
class BalanceStatus:
    """The last balance read (`balance`, at `read_at`; None until the first success),
    and the last attempt's failure if the last attempt failed (`error` is a
    machine-readable code, `detail` says what happened, at `failed_at`)."""

    threshold: Decimal
    balance: Decimal | None = None
    read_at: datetime | None = None
    error: str | None = None
    detail: str | None = None
    failed_at: datetime | None = None

    @property
    def low(self) -> bool | None:
        """Whether the balance is below the threshold; None while it was never read."""
        return None if self.balance is None else self.balance < self.threshold

    @property
    def stale(self) -> bool:
        """A balance is shown, but the attempt after it failed."""
        return self.balance is not None and self.error is not None


def read(
    status: BalanceStatus, balance: Decimal, at: datetime
) -> tuple[BalanceStatus, Crossing | None]:
    """`status` after Kinguin answered `balance` at `at`, and the crossing it made, if
    any. A first reading below the threshold is a crossing too; staying low is not."""
    was_low = status.low is True
    now = BalanceStatus(status.threshold, balance, at)
    if now.low and not was_low:
        return now, Crossing.FELL_BELOW
    if was_low and not now.low:
        return now, Crossing.RECOVERED
    return now, None


def failed(status: BalanceStatus, error: str, detail: str, at: datetime) -> BalanceStatus:
    """`status` after an attempt that failed: the last balance is kept, marked stale."""
    return replace(status, error=error, detail=detail, failed_at=at)
