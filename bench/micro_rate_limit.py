"""Micro-benchmark of the Kinguin rate limit shared through PostgreSQL (issue #23).

What one `SharedLimiter.acquire` costs when no call has to wait (a limit far above the
load): wall time per call as its caller sees it, the client's CPU per call, and the calls
per second all callers together get through the one row, with 1 and with 2 processes
drawing from the same bucket (`--tasks` concurrent callers each). The row lock is held
for one autocommitted statement, so these figures bound how long one replica's acquire
can hold up another's.

    python -m bench.micro_rate_limit [--calls 3000] [--tasks 8]

Uses a throwaway database (its name ends in the process id), removed at the end.
"""

import argparse
import asyncio
import json
import os
import sys
import time

import asyncpg

from bitloot_kinguin_gateway.adapters.orm import metadata
from bitloot_kinguin_gateway.adapters.rate_limit import Gcra, SharedLimiter, bucket_name
from bitloot_kinguin_gateway.migrations import VERSIONS
from bitloot_runtime.db import asyncpg_dsn, migrate

# Far above any load here: every acquire is granted at once.
UNLIMITED = Gcra(1_000_000_000, 1_000_000)


async def measure(dsn: str, calls: int, tasks: int) -> dict[str, float]:
    """Acquire `calls` slots with `tasks` concurrent callers in this process."""
    limiter = SharedLimiter(UNLIMITED, dsn, bucket_name("bench"))
    try:
        for _ in range(50):  # warm-up: connections opened, statement prepared
            await limiter.acquire()
        latencies: list[float] = []

        async def caller(count: int) -> None:
            for _ in range(count):
                began = time.perf_counter()
                await limiter.acquire()
                latencies.append(time.perf_counter() - began)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(caller(calls // tasks) for _ in range(tasks)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await limiter.close()
    latencies.sort()
    return {
        "calls": len(latencies),
        "wall_s": wall,
        "mean_us": sum(latencies) / len(latencies) * 1e6,
        "p99_us": latencies[int(0.99 * len(latencies))] * 1e6,
        "cpu_us": cpu / len(latencies) * 1e6,
    }


async def child(dsn: str, calls: int, tasks: int) -> dict[str, float]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.micro_rate_limit",
        "--child",
        dsn,
        f"--calls={calls}",
        f"--tasks={tasks}",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    figures: dict[str, float] = json.loads(out)
    return figures


def line(name: str, runs: list[dict[str, float]]) -> str:
    calls = sum(run["calls"] for run in runs)
    rate = calls / max(run["wall_s"] for run in runs)
    mean = sum(run["mean_us"] * run["calls"] for run in runs) / calls
    p99 = max(run["p99_us"] for run in runs)
    cpu = sum(run["cpu_us"] * run["calls"] for run in runs) / calls
    return f"{name:12} {calls:7d} {rate:10.0f} {mean:9.0f} {p99:9.0f} {cpu:8.0f}"


async def main(arguments: argparse.Namespace) -> None:
    name = f"bitloot_micro_rate_limit_{os.getpid()}"
    url = f"{arguments.database}/{name}"
    await migrate(url, metadata, [VERSIONS])
    dsn = asyncpg_dsn(url)
    try:
        one = [await child(dsn, arguments.calls, arguments.tasks)]
        two = list(
            await asyncio.gather(*(child(dsn, arguments.calls, arguments.tasks) for _ in "12"))
        )
    finally:
        admin = await asyncpg.connect(asyncpg_dsn(f"{arguments.database}/postgres"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(f"{'':12} {'calls':>7} {'calls/s':>10} {'mean µs':>9} {'p99 µs':>9} {'CPU µs':>8}")
    print(line("1 process", one))
    print(line("2 processes", two))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="acquires per process")
    parser.add_argument("--tasks", type=int, default=8, help="concurrent callers per process")
    parser.add_argument("--database", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    if arguments.child:
        figures = asyncio.run(measure(arguments.child, arguments.calls, arguments.tasks))
        print(json.dumps(figures))
    else:
        asyncio.run(main(arguments))
