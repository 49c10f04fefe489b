"""The retention sweep's pure parts: periods, batch sizes, the loop that outlives a
failed sweep, and the command line (the sweeps themselves are tested on each service's
tables against PostgreSQL: services/*/tests/handlers/test_retention.py)."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bitloot_runtime.retention import RetentionPeriod, RetentionSweep, sweeper


def test_a_period_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="not positive"):
        RetentionPeriod(timedelta(0))


def test_the_cutoff_is_exactly_the_period_before_now() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    assert RetentionPeriod(timedelta(days=30)).cutoff(now) == datetime(2026, 11, 6, tzinfo=UTC)


def test_a_batch_size_that_is_not_positive_is_refused() -> None:
    async def no_audit(*_: object) -> None:
        return None

    with pytest.raises(ValueError, match="batch size 0"):
        RetentionSweep(unit_of_work=lambda: None, rules=[], audit=no_audit, batch_size=0)  # type: ignore[arg-type,return-value]


async def test_the_loop_logs_a_failed_sweep_and_sweeps_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds = 0
    third = asyncio.Event()

    async def sweep() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise ConnectionError("database went away")
        if rounds == 3:
            third.set()

    with caplog.at_level(logging.ERROR, logger="bitloot_runtime.retention"):
        loop = asyncio.create_task(sweeper(sweep, 0.01).run())
        await asyncio.wait_for(third.wait(), timeout=5)
        loop.cancel()
    assert [r.getMessage() for r in caplog.records] == ["retention sweep failed; will try again"]
