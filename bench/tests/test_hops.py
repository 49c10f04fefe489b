"""bench.hops reads the runtime's own message counters, by the names the runtime gives them."""

from bench import hops
from bitloot_runtime.metrics import RuntimeMetrics


def test_message_counts_come_from_the_runtime_metrics() -> None:
    metrics = RuntimeMetrics("fulfillment")
    queue = "bench1a2b.fulfillment.payment.finished"
    metrics.consumed.labels(queue=queue, outcome="ok").inc(3)
    metrics.consumed.labels(queue=queue, outcome="retried").inc()
    metrics.consumed.labels(queue="bench1a2b.fulfillment.keys.delivered", outcome="ok").inc()
    metrics.published.labels(topic="order.status_changed").inc(2)
    metrics.publish_failures.labels(topic="order.status_changed").inc()
    exposition = metrics.render()[0].decode()

    assert hops.message_counts(exposition, "bench1a2b.") == {
        "consumed fulfillment.payment.finished": 4.0,
        "consumed fulfillment.keys.delivered": 1.0,
        "published order.status_changed": 2.0,
    }
