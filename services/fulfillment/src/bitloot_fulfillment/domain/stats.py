"""The figures of fulfillment on the admin's home page, as the use case returns them."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True)
class Hour:
    """One hour (None: the whole window): orders fulfilled and failed in it, and the
    time-to-key percentiles of those fulfilled (seconds; None when none was)."""

    hour: datetime | None
    fulfilled: int
    failed: int
    p50_seconds: float | None
    p99_seconds: float | None


@dataclass(frozen=True)
class Waiting:
    """An order waiting for an admin, and since when (its saga's last change)."""

    order_id: UUID
    state: str
    failure_stage: str | None
    since: datetime


@dataclass(frozen=True)
class WaitingOrders:
    count: int
    items: list[Waiting]
