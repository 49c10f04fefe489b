from datetime import UTC, datetime, timedelta

import pytest

from bitloot_delivery.domain.retention import RetentionPolicy

POLICY = RetentionPolicy(timedelta(days=180))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_keys_are_due_only_once_the_whole_period_has_passed() -> None:
    # The purge deletes what was stored strictly before this instant.
    cutoff = POLICY.stored_before(NOW)
    assert NOW - timedelta(days=180, seconds=1) < cutoff
    assert not NOW - timedelta(days=180) < cutoff
    assert not NOW - timedelta(days=179, hours=23) < cutoff


def test_a_period_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="not positive"):
        RetentionPolicy(timedelta(0))
