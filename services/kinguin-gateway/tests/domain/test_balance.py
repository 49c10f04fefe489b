"""The balance rules, pure: low strictly below the threshold, a crossing once per fall or
recovery, a failed read keeps the last balance marked stale."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bitloot_kinguin_gateway.domain.balance import BalanceStatus, Crossing, failed, read

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
THRESHOLD = Decimal(100)


def test_a_balance_never_read_is_neither_low_nor_high() -> None:
    status = BalanceStatus(THRESHOLD)
    assert (status.balance, status.low, status.stale) == (None, None, False)


def test_low_means_strictly_below_the_threshold() -> None:
    at_threshold, _ = read(BalanceStatus(THRESHOLD), Decimal("100.00"), T0)
    a_cent_below, _ = read(at_threshold, Decimal("99.99"), T0)
    assert at_threshold.low is False
    assert a_cent_below.low is True


def test_a_first_reading_below_the_threshold_is_a_crossing() -> None:
    status, crossing = read(BalanceStatus(THRESHOLD), Decimal(20), T0)
    assert (status.balance, status.read_at, status.low) == (Decimal(20), T0, True)
    assert crossing is Crossing.FELL_BELOW


def test_staying_low_crosses_nothing_and_a_top_up_recovers_once() -> None:
    low, _ = read(BalanceStatus(THRESHOLD), Decimal(50), T0)
    still_low, again = read(low, Decimal(40), T0 + timedelta(minutes=5))
    topped_up, recovery = read(still_low, Decimal(500), T0 + timedelta(minutes=10))
    still_high, after = read(topped_up, Decimal(450), T0 + timedelta(minutes=15))
    assert (again, recovery, after) == (None, Crossing.RECOVERED, None)
    assert (topped_up.low, still_high.low) == (False, False)


def test_a_failed_read_keeps_the_last_balance_marked_stale_until_the_next_reading() -> None:
    good, _ = read(BalanceStatus(THRESHOLD), Decimal(50), T0)
    later = T0 + timedelta(minutes=5)
    stale = failed(good, "kinguin_unavailable", "Kinguin answered 503.", later)
    assert (stale.balance, stale.read_at, stale.low) == (Decimal(50), T0, True)
    assert (stale.error, stale.failed_at, stale.stale) == ("kinguin_unavailable", later, True)
    fresh, crossing = read(stale, Decimal(45), later + timedelta(minutes=5))
    assert (fresh.error, fresh.detail, fresh.failed_at, fresh.stale) == (None, None, None, False)
    # Still low after the failure: no second warning.
    assert crossing is None


def test_a_failure_before_any_reading_is_an_error_without_a_balance() -> None:
    status = failed(BalanceStatus(THRESHOLD), "kinguin_access_denied", "401", T0)
    assert (status.balance, status.low, status.stale, status.error) == (
        None,
        None,
        False,
        "kinguin_access_denied",
    )
