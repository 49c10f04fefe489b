"""The token bucket, on a clock the test moves."""

import pytest

from bitloot_kinguin_gateway.adapters.rate_limit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay


async def test_a_burst_passes_then_calls_are_spaced_at_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(2000, clock=clock, sleep=clock.sleep)
    burst = [await bucket.acquire() for _ in range(33)]
    assert burst == [0.0] * 33
    assert round(await bucket.acquire(), 6) == round(60 / 2000, 6)
    assert round(await bucket.acquire(), 6) == round(60 / 2000, 6)


async def test_time_passing_refills_the_bucket_up_to_its_size_only() -> None:
    clock = Clock()
    bucket = TokenBucket(60, burst=2, clock=clock, sleep=clock.sleep)
    await bucket.acquire()
    await bucket.acquire()
    clock.now += 3600.0
    assert [await bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    assert await bucket.acquire() == 1.0
    assert clock.slept == [1.0]


def test_a_limit_that_is_not_positive_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="Rate limit 0 per minute"):
        TokenBucket(0)
