from datetime import UTC, datetime, timedelta

from bitloot_delivery.domain.rate_limits import Limit

HOURLY = Limit("test", 3, timedelta(hours=1))


def test_a_window_starts_on_the_hour_and_retry_after_counts_to_its_end() -> None:
    now = datetime(2026, 11, 23, 19, 45, 30, tzinfo=UTC)
    assert HOURLY.window_start(now) == datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    assert HOURLY.retry_after(now) == 14 * 60 + 30


def test_retry_after_is_never_zero() -> None:
    end = datetime(2026, 11, 23, 19, 59, 59, 999_999, tzinfo=UTC)
    assert HOURLY.retry_after(end) == 1
    assert HOURLY.window_start(end + timedelta(microseconds=1)) == end + timedelta(microseconds=1)
