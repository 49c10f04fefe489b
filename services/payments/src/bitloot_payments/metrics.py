"""What payments counts beyond the runtime's metrics, labelled ``service=payments`` like
them (`RuntimeMetrics.source`).

Business facts are counted once, when the transaction recording them commits
(`UnitOfWork.on_commit`, `ServiceRuntime.on_event`): a handler that rolls back and is
retried counts nothing the first time. No label carries an order id, an email or a path.
"""

import functools
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_contracts import topics
from bitloot_contracts.events import Event, RefundStatusChanged
from bitloot_payments.adapters.orm import PAID_UNFULFILLED, orders
from bitloot_runtime.service import ServiceRuntime

_PAID_UNFULFILLED = select(
    func.count(), func.coalesce(func.extract("epoch", func.now() - func.min(orders.c.paid_at)), 0)
).where(text(PAID_UNFULFILLED))
# Paid, and fulfillment has not reported starting (it records fulfilment_state from its
# first order.status_changed): payment.finished did not reach it. The partial index of
# PAID_UNFULFILLED serves it, its predicate being narrower.
_PAID_UNSTARTED = select(
    func.coalesce(func.extract("epoch", func.now() - func.min(orders.c.paid_at)), 0)
).where(text(PAID_UNFULFILLED), orders.c.fulfilment_state.is_(None))


_FLAGS = text("SELECT kind, count(*) FROM flags GROUP BY kind")
FLAGS = "bitloot_payment_flags"


class _FlagCounts:
    """``bitloot_payment_flags_total`` (kind), from the last reading of the flags table."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(FLAGS, "Flags raised for an admin, by kind.", labels=["kind"])
        for kind, raised in sorted(self._counts().items()):
            family.add_metric([kind], raised)
        yield family

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily(FLAGS, "", labels=["kind"])


class PaymentsMetrics:
    """- ``recovered_by_poll``: payments that paid their order from a status the reconciler
      polled (its IPN never came, or came too late).
    - ``ipn_failures`` (kind): failed attempts at applying an IPN, ``transient`` (retried
      without limit) or ``defect`` (given up after repeated identical failures).
    - ``reconcile_polls`` (outcome): NOWPayments asked about an order by the reconciler:
      ``changed`` (it knew something we did not), ``unchanged``, ``failed``.
    - ``orders_placed``: orders stored (a replayed Idempotency-Key places none).
    - ``payments_finished``: orders paid, so handed to fulfillment (payment.finished).
    - ``bitloot_payment_flags_total`` (kind): flags raised for an admin (underpaid,
      paid_twice…), read as the flags table holds them before each scrape: a flag is a row
      of the transaction that raised it, never deleted, and few (each an admin's task).
    - ``ipn_refused`` (reason): IPNs refused at the edge: ``bad_signature``,
      ``missing_signature``, or the unreadable body's code (``malformed``…).
    - ``refunds`` (state): refunds recorded or moved, by the status they moved to.
    - ``paid_unfulfilled`` / ``oldest_paid_unfulfilled_seconds``: paid orders whose
      fulfillment has not ended, and the age of the oldest (0 if none); from the
      database before each scrape. Preorders and orders Kinguin delays are among them.
    - ``oldest_paid_unstarted_seconds``: the oldest paid order fulfillment has not
      reported starting (payment.finished did not reach it), 0 if none.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        counter = functools.partial(Counter, registry=registry)
        gauge = functools.partial(Gauge, registry=registry)
        self.recovered_by_poll = counter(
            "bitloot_payments_recovered_by_poll",
            "Payments that paid their order from a polled status rather than an IPN.",
        )
        self.ipn_failures = counter(
            "bitloot_ipn_processing_failures",
            "Failed attempts at applying an IPN, by kind (transient or defect).",
            ["kind"],
        )
        self.reconcile_polls = counter(
            "bitloot_payments_reconcile_polls",
            "Orders the reconciler asked NOWPayments about, by outcome.",
            ["outcome"],
        )
        self.orders_placed = counter("bitloot_orders_placed", "Orders placed (stored).")
        self.payments_finished = counter(
            "bitloot_payments_finished", "Orders paid and handed to fulfillment (payment.finished)."
        )
        self.ipn_refused = counter(
            "bitloot_ipn_refused", "IPNs refused at the edge, by reason.", ["reason"]
        )
        # Exported at 0 from the start: an alert's increase() cannot see a series' first
        # refusal after a restart if the series is born at 1.
        for reason in ("bad_signature", "missing_signature"):
            self.ipn_refused.labels(reason=reason)
        self.refunds = counter(
            "bitloot_refunds", "Refunds recorded or moved, by the state they moved to.", ["state"]
        )
        self.paid_unfulfilled = gauge(
            "bitloot_orders_paid_unfulfilled", "Paid orders whose fulfillment has not ended."
        )
        self._flags: dict[str, int] = {}
        registry.register(_FlagCounts(lambda: self._flags))
        self.oldest_paid_unfulfilled_seconds = gauge(
            "bitloot_oldest_paid_unfulfilled_seconds",
            "Age of the oldest paid order whose fulfillment has not ended (0 if none).",
        )
        self.oldest_paid_unstarted_seconds = gauge(
            "bitloot_oldest_paid_unstarted_seconds",
            "Age of the oldest paid order fulfillment has not reported starting (0 if none).",
        )

    def watch(self, runtime: ServiceRuntime) -> None:
        """Count the events payments' units of work commit, and refresh the gauges from
        `runtime`'s database before each scrape."""
        runtime.on_event(topics.PAYMENT_FINISHED, self._finished)
        runtime.on_event(topics.REFUND_STATUS_CHANGED, self._refund)
        runtime.add_gauge_refresh(functools.partial(self.refresh, runtime.engine))

    async def refresh(self, engine: AsyncEngine) -> None:
        """Set the paid-unfulfilled gauges (one index-only scan of a partial index) and
        read the flags raised."""
        async with engine.connect() as connection:
            count, oldest = (await connection.execute(_PAID_UNFULFILLED)).one()
            unstarted = (await connection.execute(_PAID_UNSTARTED)).scalar_one()
            flags = (await connection.execute(_FLAGS)).all()
        self._flags = {str(kind): int(raised) for kind, raised in flags}
        self.paid_unfulfilled.set(count)
        self.oldest_paid_unfulfilled_seconds.set(float(oldest))
        self.oldest_paid_unstarted_seconds.set(float(unstarted))

    def _finished(self, _event: Event) -> None:
        self.payments_finished.inc()

    def _refund(self, event: Event) -> None:
        if isinstance(event, RefundStatusChanged):
            self.refunds.labels(state=event.status).inc()
