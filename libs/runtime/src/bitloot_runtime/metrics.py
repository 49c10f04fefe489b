"""Prometheus metrics of one service, in a registry of its own (several services can
share a process in the demo without their metrics colliding)."""

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class RuntimeMetrics:
    """What the runtime counts: consumed, published, retried, parked, handler latency,
    outbox backlog. Every series carries the constant label ``service``."""

    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry(auto_describe=True)

        def counter(name: str, doc: str, *names: str) -> Counter:
            return Counter(name, doc, ["service", *names], registry=self.registry)

        self.consumed = _bound(
            counter(
                "bitloot_messages_consumed",
                "Messages consumed, by outcome (ok, duplicate, retried, parked).",
                "queue",
                "outcome",
            ),
            service,
        )
        self.published = _bound(
            counter(
                "bitloot_messages_published",
                "Events published and confirmed by the broker.",
                "topic",
            ),
            service,
        )
        self.publish_failures = _bound(
            counter(
                "bitloot_publish_failures", "Publishes refused, returned or timed out.", "topic"
            ),
            service,
        )
        self.retried = _bound(
            counter(
                "bitloot_messages_retried",
                "Messages sent to a delay queue for another attempt.",
                "queue",
            ),
            service,
        )
        self.parked = _bound(
            counter(
                "bitloot_messages_parked",
                "Messages parked in dead_letters, by reason.",
                "queue",
                "reason",
            ),
            service,
        )
        self.handler_seconds = _BoundHistogram(
            Histogram(
                "bitloot_handler_seconds",
                "Time spent handling one message.",
                ["service", "queue"],
                registry=self.registry,
            ),
            service,
        )
        self.outbox_pending = Gauge(
            "bitloot_outbox_pending",
            "Outbox rows not yet published.",
            ["service"],
            registry=self.registry,
        ).labels(service=service)
        self.outbox_lag_seconds = Gauge(
            "bitloot_outbox_lag_seconds",
            "Age of the oldest unpublished outbox row.",
            ["service"],
            registry=self.registry,
        ).labels(service=service)
        self.dead_letters = Gauge(
            "bitloot_dead_letters",
            "Parked messages not yet replayed.",
            ["service"],
            registry=self.registry,
        ).labels(service=service)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _BoundCounter:
    """A counter whose ``service`` label is already set: ``.labels(queue=…)`` names the rest."""

    def __init__(self, counter: Counter, service: str) -> None:
        self._counter = counter
        self._service = service

    def labels(self, **labels: str) -> Counter:
        return self._counter.labels(service=self._service, **labels)


class _BoundHistogram:
    def __init__(self, histogram: Histogram, service: str) -> None:
        self._histogram = histogram
        self._service = service

    def labels(self, **labels: str) -> Histogram:
        return self._histogram.labels(service=self._service, **labels)


def _bound(counter: Counter, service: str) -> _BoundCounter:
    return _BoundCounter(counter, service)
