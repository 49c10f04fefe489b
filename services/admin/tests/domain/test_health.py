"""Reading a service's outbox gauges from its Prometheus text."""

from bitloot_admin.domain.health import OutboxGauges, outbox_gauges

TEXT = """# HELP bitloot_outbox_pending Outbox rows not yet published.
# TYPE bitloot_outbox_pending gauge
bitloot_outbox_pending{service="payments"} 4.0
bitloot_outbox_lag_seconds{service="payments"} 12.5
bitloot_dead_letters{service="payments"} 1.0
bitloot_outbox_pending_total{service="payments"} 99.0
"""


def test_the_outbox_gauges_are_read_with_or_without_labels() -> None:
    assert outbox_gauges(TEXT) == OutboxGauges(pending=4.0, lag_seconds=12.5, dead_letters=1.0)
    assert outbox_gauges("bitloot_outbox_pending 2") == OutboxGauges(pending=2.0)


def test_text_without_the_gauges_gives_none() -> None:
    assert outbox_gauges("something_else 1\n") == OutboxGauges()
