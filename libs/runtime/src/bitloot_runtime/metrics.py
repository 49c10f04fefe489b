"""Prometheus metrics of one service, in a registry of its own (several services can
share a process in the demo without their metrics colliding)."""

from typing import Generic, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase

MetricT = TypeVar("MetricT", bound=MetricWrapperBase)


class ServiceLabelled(Generic[MetricT]):
    """A metric whose ``service`` label is set once: ``.labels(queue=…)`` names the rest."""

    def __init__(self, metric: MetricT, service: str) -> None:
        self._metric: MetricT = metric
        self._service = service

    def labels(self, **labels: str) -> MetricT:
        return self._metric.labels(service=self._service, **labels)


class RuntimeMetrics:
    """What the runtime counts: consumed, published, retried, parked, handler latency,
    outbox backlog. Every series carries the label ``service``."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry(auto_describe=True)
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
        self.handler_seconds = ServiceLabelled(
            Histogram(
                "bitloot_handler_seconds",
                "Time spent handling one message.",
                ["service", "queue"],
                registry=self.registry,
            ),
            service,
        )
        self.outbox_pending = self._gauge("outbox_pending", "Outbox rows not yet published.")
        self.outbox_lag_seconds = self._gauge(
            "outbox_lag_seconds", "Age of the oldest unpublished outbox row."
        )
        self.dead_letters = self._gauge("dead_letters", "Parked messages not yet replayed.")

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _counter(self, name: str, doc: str, *labels: str) -> ServiceLabelled[Counter]:
        metric = Counter(f"bitloot_{name}", doc, ["service", *labels], registry=self.registry)
        return ServiceLabelled(metric, self.service)

    def _gauge(self, name: str, doc: str) -> Gauge:
        return Gauge(f"bitloot_{name}", doc, ["service"], registry=self.registry).labels(
            service=self.service
        )
