"""Reading a service's outbox gauges from its Prometheus text, and what the Health page
says of the gateway's Kinguin balance."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from bitloot_admin.domain.health import (
    GatewayBalance,
    KinguinBalance,
    OutboxGauges,
    kinguin_balance,
    outbox_gauges,
)

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


def test_a_gauge_that_is_not_a_number_is_unknown() -> None:
    text = "bitloot_outbox_pending NaN\nbitloot_outbox_lag_seconds +Inf\nbitloot_dead_letters 3"
    assert outbox_gauges(text) == OutboxGauges(dead_letters=3.0)


READ = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)


def test_a_balance_the_gateway_marks_low_is_low_and_one_it_does_not_is_ok() -> None:
    low = GatewayBalance(
        balance_eur=Decimal("90.01"), low=True, threshold_eur=Decimal(100), read_at=READ
    )
    high = low.model_copy(update={"balance_eur": Decimal(500), "low": False})
    assert kinguin_balance(low) == KinguinBalance(
        "low", balance_eur=Decimal("90.01"), threshold_eur=Decimal(100), read_at=READ
    )
    assert kinguin_balance(high).state == "ok"


def test_a_stale_balance_keeps_its_state_and_says_why_and_times_are_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    shown = kinguin_balance(
        GatewayBalance(
            balance_eur=Decimal(50),
            low=True,
            threshold_eur=Decimal(100),
            read_at=READ.astimezone(paris),
            stale=True,
            error="kinguin_unavailable",
            detail="Kinguin answered 503.",
            failed_at=READ.astimezone(paris) + timedelta(minutes=5),
        )
    )
    assert (shown.state, shown.stale, shown.error) == ("low", True, "kinguin_unavailable")
    assert shown.read_at is not None
    assert shown.read_at.utcoffset() == timedelta(0)
    assert shown.failed_at == READ + timedelta(minutes=5)


def test_no_answer_or_no_reading_yet_is_unknown_with_the_reason() -> None:
    silent = kinguin_balance(None)
    never = kinguin_balance(GatewayBalance(threshold_eur=Decimal(100)))
    refused = kinguin_balance(
        GatewayBalance(threshold_eur=Decimal(100), error="kinguin_access_denied", detail="401")
    )
    assert (silent.state, silent.error, silent.balance_eur) == (
        "unknown",
        "gateway_unavailable",
        None,
    )
    assert (never.state, never.error) == ("unknown", "not_read_yet")
    assert (refused.state, refused.error, refused.detail) == (
        "unknown",
        "kinguin_access_denied",
        "401",
    )
