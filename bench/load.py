"""Load shapes shared by the phases: a closed loop (the most a server sustains) and an open
loop (latency at a fixed offered rate, each request measured from its planned start, so a
stalled server cannot hide its queueing), and the percentiles of what they measured."""

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Send = Callable[[int], Awaitable[bool]]


@dataclass
class Run:
    """One load phase: latencies (ms) of the requests that succeeded, and the failures."""

    name: str
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, pct: int) -> float:
        return percentile(self.latencies, pct)


def percentile(values: list[float], pct: int) -> float:
    """The `pct`-th percentile (inclusive method); 0 for no values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def progress(text: str) -> None:
    print(f"\r  {text}".ljust(78), end="", flush=True)


async def closed_loop(name: str, send: Send, *, workers: int, seconds: float) -> Run:
    """`workers` senders, each sending its next request as soon as the last is answered,
    for `seconds` after a warm-up of a fifth of that: the server's sustainable maximum."""
    run, stop = Run(name), time.perf_counter() + seconds * 1.2
    counter = iter(range(10**9))
    measuring_from = time.perf_counter() + seconds * 0.2

    async def worker() -> None:
        while (now := time.perf_counter()) < stop:
            ok = await send(next(counter))
            if now >= measuring_from:
                if ok:
                    run.latencies.append((time.perf_counter() - now) * 1000)
                else:
                    run.failures += 1

    async def report() -> None:
        while True:
            await asyncio.sleep(1)
            progress(f"{name}: {len(run.latencies)} answered")

    reporter = asyncio.create_task(report())
    await asyncio.gather(*(worker() for _ in range(workers)))
    reporter.cancel()
    run.elapsed = seconds
    print(f"\r  {name}: {run.rate:.0f}/s sustained by {workers} senders".ljust(78), flush=True)
    return run


async def open_loop(name: str, send: Send, *, rate: float, seconds: float) -> Run:
    """Request i leaves at start + i/rate whether or not earlier ones were answered."""
    run, tasks, total = Run(name), [], int(rate * seconds)
    start = time.perf_counter()

    async def one(index: int, planned: float) -> None:
        if await send(index):
            run.latencies.append((time.perf_counter() - planned) * 1000)
        else:
            run.failures += 1

    for index in range(total):
        planned = start + index / rate
        await asyncio.sleep(max(0.0, planned - time.perf_counter()))
        tasks.append(asyncio.create_task(one(index, planned)))
        if index % int(rate) == 0:
            progress(f"{name}: {index} sent, {len(run.latencies)} answered")
    await asyncio.gather(*tasks)
    run.elapsed = time.perf_counter() - start
    print(
        f"\r  {name}: {rate:g}/s offered, p50 {run.percentile(50):.1f} ms,"
        f" p99 {run.percentile(99):.1f} ms, {run.failures} failed".ljust(78),
        flush=True,
    )
    return run
