import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from bitloot_runtime.metrics import RuntimeMetrics


def samples(metrics: RuntimeMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text, _ = metrics.render()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def test_counters_carry_the_service_label_and_their_own() -> None:
    metrics = RuntimeMetrics("payments")
    metrics.consumed.labels(queue="payments.x", outcome="duplicate").inc()
    metrics.parked.labels(queue="payments.x", reason="exhausted").inc(2)
    metrics.published.labels(topic="payment.finished").inc()
    metrics.publish_failures.labels(topic="payment.finished").inc()
    metrics.retried.labels(queue="payments.x").inc()
    found = samples(metrics)
    expected = [
        ("bitloot_messages_consumed_total", {"queue": "payments.x", "outcome": "duplicate"}, 1),
        ("bitloot_messages_parked_total", {"queue": "payments.x", "reason": "exhausted"}, 2),
        ("bitloot_messages_published_total", {"topic": "payment.finished"}, 1),
        ("bitloot_publish_failures_total", {"topic": "payment.finished"}, 1),
        ("bitloot_messages_retried_total", {"queue": "payments.x"}, 1),
    ]
    for name, labels, value in expected:
        key = frozenset({"service": "payments", **labels}.items())
        assert found[(name, key)] == value


def test_gauges_and_histogram_carry_the_service_label() -> None:
    metrics = RuntimeMetrics("delivery")
    metrics.outbox_pending.set(3)
    metrics.outbox_lag_seconds.set(1.5)
    metrics.dead_letters.set(2)
    metrics.handler_seconds.labels(queue="delivery.q").observe(0.2)
    found = samples(metrics)
    only_service = frozenset({("service", "delivery")})
    assert found[("bitloot_outbox_pending", only_service)] == 3
    assert found[("bitloot_outbox_lag_seconds", only_service)] == 1.5
    assert found[("bitloot_dead_letters", only_service)] == 2
    queue = frozenset({("service", "delivery"), ("queue", "delivery.q")})
    assert found[("bitloot_handler_seconds_count", queue)] == 1


def test_each_instance_has_its_own_registry() -> None:
    payments, delivery = RuntimeMetrics("payments"), RuntimeMetrics("delivery")
    payments.retried.labels(queue="q").inc()
    assert payments.registry is not delivery.registry
    assert b'service="payments"' in payments.render()[0]
    assert b"bitloot_messages_retried_total{" not in delivery.render()[0]


def test_render_returns_the_prometheus_text_content_type() -> None:
    body, content_type = RuntimeMetrics("admin").render()
    assert content_type.startswith("text/plain; version=")
    assert b"# TYPE bitloot_messages_consumed_total counter" in body


def test_a_given_registry_is_used_and_keeps_its_other_metrics() -> None:
    registry = CollectorRegistry()
    Counter("other_total", "Not ours.", registry=registry).inc()
    metrics = RuntimeMetrics("fulfillment", registry)
    metrics.consumed.labels(queue="q", outcome="ok").inc()
    labels = {"service": "fulfillment", "queue": "q", "outcome": "ok"}
    assert registry.get_sample_value("bitloot_messages_consumed_total", labels) == 1
    assert registry.get_sample_value("other_total") == 1


def test_two_services_in_one_registry_are_refused_at_start_up() -> None:
    registry = CollectorRegistry()
    RuntimeMetrics("payments", registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        RuntimeMetrics("delivery", registry)


def test_a_services_own_metric_in_source_gets_the_service_label() -> None:
    metrics = RuntimeMetrics("kinguin-gateway")
    Counter("bitloot_kinguin_calls", "Calls to Kinguin.", registry=metrics.source).inc()
    labels = {"service": "kinguin-gateway"}
    assert metrics.registry.get_sample_value("bitloot_kinguin_calls_total", labels) == 1


def test_process_series_carry_the_service_label() -> None:
    found = samples(RuntimeMetrics("delivery"))
    only_service = frozenset({("service", "delivery")})
    assert found[("process_resident_memory_bytes", only_service)] > 0
    assert found[("process_cpu_seconds_total", only_service)] >= 0


def test_no_created_series_are_exported() -> None:
    metrics = RuntimeMetrics("payments")
    metrics.consumed.labels(queue="q", outcome="ok").inc()
    metrics.handler_seconds.labels(queue="q").observe(0.1)
    text = metrics.render()[0].decode()
    assert "bitloot_messages_consumed_total{" in text
    assert "_created" not in text
