"""Prometheus metrics of one service.

Each `RuntimeMetrics` keeps its own registry, because in the embedded demo all five
services share one process and their metrics must not collide. The ``service`` label is
added once, at the registry, rather than declared on every metric: callers name only the
labels that vary (``metrics.consumed.labels(queue=…, outcome=…)``), and any metric a
service defines in `RuntimeMetrics.source` is labelled the same way, and so are the
``process_*``, ``python_info`` and ``python_gc_*`` series of the standard collectors.

No ``*_created`` series: each counter and histogram would otherwise export a second
series holding its creation time, doubling what is scraped and stored for nothing a
dashboard or an alert reads.
"""

import copy
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric

from bitloot_runtime.http_metrics import HttpMetrics
from bitloot_runtime.outbound import OutboundMetrics

disable_created_metrics()  # type: ignore[no-untyped-call]


class _ServiceLabel:
    """A collector exposing every metric of `source` with ``service=<name>`` added."""

    def __init__(self, source: CollectorRegistry, service: str) -> None:
        self._source = source
        self._service = service

    def collect(self) -> Iterator[Metric]:
        for family in self._source.collect():
            # A copy: a custom collector may hand out the same family on every scrape.
            stamped = copy.copy(family)
            stamped.samples = [
                sample._replace(labels={**sample.labels, "service": self._service})
                for sample in family.samples
            ]
            yield stamped

    def describe(self) -> list[Metric]:
        # Lets the target registry refuse a second RuntimeMetrics with the same names,
        # whose exposition would repeat metric families (invalid Prometheus text).
        return list(self.collect())


class RuntimeMetrics:
    """What the runtime counts, every series labelled ``service=<service>`` (each one's
    help says what it is). ``consumed``'s outcome is ok, duplicate, retried, parked or
    requeued (no outcome could be recorded); ``parked``'s reason is invalid, permanent or
    exhausted. The gauges of the database, the pool and the workers are set before each
    scrape; a failed read leaves them at their last values, so ``gauges_refreshed``'s age
    says they are stale.
    """

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry if registry is not None else CollectorRegistry()
        self.source = CollectorRegistry(auto_describe=True)
        self.consumed = self._counter(
            "messages_consumed", "Messages consumed, by outcome.", "queue", "outcome"
        )
        self.published = self._counter("messages_published", "Events confirmed.", "topic")
        self.publish_failures = self._counter(
            "publish_failures", "Publishes refused, returned or timed out.", "topic"
        )
        self.retried = self._counter("messages_retried", "Messages sent to a delay queue.", "queue")
        self.parked = self._counter(
            "messages_parked", "Messages parked in dead_letters.", "queue", "reason"
        )
        self.handler_seconds = Histogram(
            "bitloot_handler_seconds",
            "Time spent handling one message.",
            ["queue"],
            registry=self.source,
        )
        self.outbox_pending = self._gauge("outbox_pending", "Outbox rows not yet published.")
        self.outbox_lag_seconds = self._gauge(
            "outbox_lag_seconds", "Age of the oldest unpublished outbox row."
        )
        self.dead_letters = self._gauge("dead_letters", "Parked messages not yet replayed.")
        self.gauges_refreshed = self._gauge(
            "gauges_refreshed_timestamp_seconds",
            "When the gauges read from the database were last read whole.",
        )
        self.db_pool_checked_out = self._gauge(
            "db_pool_checked_out", "Database connections in use (checked out of the pool)."
        )
        self.db_pool_size = self._gauge(
            "db_pool_size", "Database connections the pool may hold (its maximum)."
        )
        self.worker_failures = self._gauge(
            "worker_failures", "Passes of a background loop failed in a row.", "loop"
        )
        self.worker_last_success = self._gauge(
            "worker_last_success_timestamp_seconds",
            "When a pass of a background loop last succeeded (Unix time).",
            "loop",
        )
        self.http = HttpMetrics(self.source)
        self.outbound = OutboundMetrics(self.source)
        ProcessCollector(registry=self.source)
        PlatformCollector(registry=self.source)
        GCCollector(registry=self.source)
        # Registered last: the registry checks for clashes by the names present now.
        self.registry.register(_ServiceLabel(self.source, service))

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of `registry` and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _counter(self, name: str, doc: str, *labels: str) -> Counter:
        return Counter(f"bitloot_{name}", doc, labels, registry=self.source)

    def _gauge(self, name: str, doc: str, *labels: str) -> Gauge:
        return Gauge(f"bitloot_{name}", doc, labels, registry=self.source)
