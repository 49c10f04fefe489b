"""Login rate limiting: a fixed window per key; refused attempts do not extend it."""

from datetime import UTC, datetime, timedelta

from bitloot_admin.domain.throttle import Window, count_attempt

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_the_first_attempt_opens_a_window() -> None:
    verdict = count_attempt(None, NOW, limit=2, length=MINUTE)
    assert verdict.allowed
    assert verdict.window == Window(NOW, 1)


def test_the_attempt_past_the_limit_is_refused_until_the_window_ends() -> None:
    full = Window(NOW, 2)
    verdict = count_attempt(full, NOW + timedelta(seconds=20), limit=2, length=MINUTE)
    assert not verdict.allowed
    assert verdict.retry_after == timedelta(seconds=40)
    assert verdict.window == full


def test_a_window_that_ended_starts_afresh() -> None:
    later = NOW + MINUTE
    verdict = count_attempt(Window(NOW, 2), later, limit=2, length=MINUTE)
    assert verdict.allowed
    assert verdict.window == Window(later, 1)
