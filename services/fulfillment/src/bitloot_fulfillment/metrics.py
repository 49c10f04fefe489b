"""What fulfillment counts beyond the runtime's metrics, labelled ``service=fulfillment``
like them (`RuntimeMetrics.source`).

- ``bitloot_orders_fulfilled_total``: orders whose keys were delivered (order.fulfilled);
- ``bitloot_orders_failed_total`` (reason): orders failed for good (order.failed), by a
  bounded reason (`failure_reason`): never the free text an admin reads;
- ``bitloot_sagas_open`` (state): sagas not yet ended, by state, read from the database
  before each scrape;
- ``bitloot_oldest_untold_saga_seconds``: the age of the oldest open saga whose customer
  has not been told to wait (not a preorder, no delay notice): a paid order that nobody
  is working on and nobody explained (0 if none), what on-call is paged on.

The counters count the events as the saga's step commits them (`ServiceRuntime.on_event`):
a step rolled back and retried counts once.
"""

import functools

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_contracts import topics
from bitloot_contracts.events import Event, OrderFailed
from bitloot_fulfillment.adapters.orm import sagas
from bitloot_fulfillment.domain.saga import TERMINAL
from bitloot_runtime.service import ServiceRuntime

# The saga's states before it ends; listed, so the count reads the state index.
OPEN_STATES = ("paid", "reserving", "reserved", "keys_requested", "delivering")
_OPEN = (
    select(sagas.c.state, func.count())
    .where(sagas.c.state.in_(OPEN_STATES))
    .group_by(sagas.c.state)
)
# An order Kinguin delays, or a preorder, has its customer told (order.delayed) and its
# own deadline: it is not late, so it does not count.
_OLDEST_UNTOLD = select(
    func.coalesce(func.extract("epoch", func.now() - func.min(sagas.c.created_at)), 0)
).where(
    sagas.c.state.in_(OPEN_STATES),
    sagas.c.is_preorder.is_(False),
    sagas.c.delay_notified.is_(False),
)
# The reservation refusals worth telling apart (the gateway's codes), by label.
_RESERVATION_REASONS = {
    "product_unavailable": "out_of_stock",
    "price_above_maximum": "price_changed",
    "insufficient_balance": "insufficient_balance",
    "kinguin_access_denied": "kinguin_access_denied",
}
# Each other stage is its own reason.
_STAGE_REASONS = {"kinguin": "kinguin_canceled", "deadline": "timeout", "delivery": "delivery"}


def failure_reason(stage: str, reason: str) -> str:
    """A bounded label for a failure at `stage` with the saga's `reason` text (for a
    refused reservation, ``"<code>: <text>"``)."""
    if stage == "reservation":
        code = reason.split(":", 1)[0].strip()
        return _RESERVATION_REASONS.get(code, "reservation_refused")
    return _STAGE_REASONS.get(stage, "other")


class FulfillmentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.fulfilled = Counter(
            "bitloot_orders_fulfilled", "Orders whose keys were delivered.", registry=registry
        )
        self.failed = Counter(
            "bitloot_orders_failed",
            "Orders failed for good, by bounded reason.",
            ["reason"],
            registry=registry,
        )
        self.sagas_open = Gauge(
            "bitloot_sagas_open", "Sagas not yet ended, by state.", ["state"], registry=registry
        )
        self.oldest_untold_seconds = Gauge(
            "bitloot_oldest_untold_saga_seconds",
            "Age of the oldest open saga whose customer was not told to wait (0 if none).",
            registry=registry,
        )

    def watch(self, runtime: ServiceRuntime) -> None:
        """Count the saga's end events as they commit; refresh `sagas_open` from
        `runtime`'s database before each scrape."""
        runtime.on_event(topics.ORDER_FULFILLED, lambda _event: self.fulfilled.inc())
        runtime.on_event(topics.ORDER_FAILED, self._failed)
        runtime.add_gauge_refresh(functools.partial(self.refresh, runtime.engine))

    async def refresh(self, engine: AsyncEngine) -> None:
        async with engine.connect() as connection:
            rows = (await connection.execute(_OPEN)).all()
            oldest_untold = (await connection.execute(_OLDEST_UNTOLD)).scalar_one()
        self.oldest_untold_seconds.set(float(oldest_untold))
        counts = {str(state): int(count) for state, count in rows}
        for state in OPEN_STATES:
            self.sagas_open.labels(state=state).set(counts.get(state, 0))

    def _failed(self, event: Event) -> None:
        if isinstance(event, OrderFailed):
            self.failed.labels(reason=failure_reason(event.stage, event.reason)).inc()


assert not set(OPEN_STATES) & TERMINAL
