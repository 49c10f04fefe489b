"""`make bench`: how fast BitLoot ingests webhooks and fulfils orders, each figure beside
what this machine allows for the same work shape, measured in the same run.

Phases: start the production topology (bench.stack); ingress (bench.ingress); the
pipeline at its maximum, then at half of it for time-to-key (bench.pipeline); the null
pipeline (bench.null_pipeline); the pipeline again with 100,000 orders of history in every
database (bench.scale); the services' peak RSS. Prints a table against the targets and
writes bench/results/latest.json.

    python -m bench.run [--orders 2000] [--scale-orders 800] [--history 100000]
                         [--ipn-rate 200] [--seconds 8]
"""

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench import hops, ingress, machine, pipeline, scale
from bench.null_pipeline import exchange_name, queue_names
from bench.report import table
from bench.stack import AMQP, Stack, cpu_seconds, running_stack

RESULTS = Path(__file__).parent / "results"
REPO = Path(__file__).parent.parent


@asynccontextmanager
async def null_pipeline(stack: Stack) -> AsyncIterator[tuple[str, int]]:
    """The null pipeline process on its own database and names; yields its exchange and
    pid."""
    prefix = stack.machine.bus_prefix
    await stack.create_database("null")
    for name in [exchange_name(prefix), *queue_names(prefix)]:
        stack.bus.track_queue(name)
        stack.bus.track_exchange(name)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.null_pipeline", AMQP, stack.database_dsn("null"), prefix,
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise SystemExit("the null pipeline did not start")
        yield exchange_name(prefix), child.pid
    finally:
        child.terminate()
        await child.wait()


async def null_pipeline_rate(
    stack: Stack, orders: int, name: str, *, settle: bool = False
) -> dict[str, Any]:
    """Orders per second through the null pipeline, `orders` injected at once, and the CPU
    its process spent per order; with `settle`, also the machine's CPU per order over a
    window that starts and ends on a quiet stack, as the pipeline's does (bench.hops)."""
    watch = f"{stack.machine.bus_prefix}bench.null-watch"
    async with null_pipeline(stack) as (exchange, pid), pipeline.Bus(AMQP, exchange, watch) as bus:
        if settle:
            await hops.settle(stack)
        cpu_before, machine_before = cpu_seconds(pid), machine.cpu_seconds()
        rate = (await pipeline.burst(bus, orders, name))["orders_per_s"]
        if settle:
            await hops.settle(stack)
        own = cpu_seconds(pid) - cpu_before
        used = {key: value - machine_before[key] for key, value in machine.cpu_seconds().items()}
    cpu_ms = round(own * 1000 / orders, 2)
    print(f"  null pipeline: {cpu_ms:g} ms of CPU per order", flush=True)
    figures: dict[str, Any] = {"orders_per_s": rate, "cpu_ms_per_order": cpu_ms}
    if settle:
        other = used["machine"] - own - used["postgresql"] - used["rabbitmq"]
        figures["machine_ms_per_order"] = {
            "services": cpu_ms,
            "postgresql": round(used["postgresql"] * 1000 / orders, 2),
            "rabbitmq": round(used["rabbitmq"] * 1000 / orders, 2),
            "other": round(max(other, 0.0) * 1000 / orders, 2),
            "machine": round(used["machine"] * 1000 / orders, 2),
        }
    return figures


async def pipeline_phases(stack: Stack, orders: int, seconds: float) -> dict[str, Any]:
    events = f"{stack.machine.bus_prefix}bitloot.events"

    def accepted(order_id: str) -> float | None:
        return stack.accepted.get(f"{order_id}@bench.example")

    async with pipeline.Bus(AMQP, events, f"{stack.machine.bus_prefix}bench.watch") as bus:
        before = await hops.opening(stack)
        real = await pipeline.burst(bus, orders, "pipeline max")
        after = await hops.closing(stack)
        per_service = hops.per_order(before, after, orders)
        used = hops.machine_per_order(before, after, orders)
        print(hops.table(per_service, orders), flush=True)
        rate = real["orders_per_s"] / 2
        # Three load phases long: enough orders for a p99 at a few orders a second.
        to_key = await pipeline.offered(bus, rate, 3 * seconds, accepted, "time-to-key")
    null = await null_pipeline_rate(stack, orders, "null pipeline max", settle=True)
    print(hops.machine_table(used, null["machine_ms_per_order"]), flush=True)
    return {
        "orders": orders,
        "orders_per_s": real["orders_per_s"],
        "null_orders_per_s": null["orders_per_s"],
        "ratio": round(real["orders_per_s"] / null["orders_per_s"], 3),
        "time_to_key_ms": {"p50": to_key["p50"], "p99": to_key["p99"]},
        "offered_orders_per_s": round(rate, 2),
        "failed": real["failed"],
        "cpu_ms_per_order": {name: row["cpu_ms"] for name, row in per_service.items()},
        "null_cpu_ms_per_order": null["cpu_ms_per_order"],
        "machine_ms_per_order": used,
        "null_machine_ms_per_order": null["machine_ms_per_order"],
        "per_service": per_service,
        "time_to_key_orders": to_key["orders"],
        "without_email": to_key["without_email"],
    }


async def scale_phase(stack: Stack, orders: int, history: int) -> dict[str, Any]:
    """The pipeline rate with `history` orders in the databases, and the null pipeline's
    again right after it: on a shared machine the ratio is what compares with the empty run."""
    await scale.prefill(stack, history)
    prefix = stack.machine.bus_prefix
    async with pipeline.Bus(AMQP, f"{prefix}bitloot.events", f"{prefix}bench.scale") as bus:
        run = await pipeline.burst(bus, orders, f"pipeline with {history} orders")
    null_rate = (await null_pipeline_rate(stack, orders, "null pipeline again"))["orders_per_s"]
    return {
        "orders_in_db": history,
        "orders_per_s": run["orders_per_s"],
        "failed": run["failed"],
        "null_orders_per_s": null_rate,
        "ratio": round(run["orders_per_s"] / null_rate, 3),
    }


async def main(arguments: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()

    def phase(name: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {name}", flush=True)

    phase("starting the services")
    async with running_stack(extra_databases=["baseline", "null"]) as stack:
        phase(f"ingress (logs in {stack.logs})")
        results: dict[str, Any] = {
            "ingress": await ingress.measure(
                stack, rate=arguments.ipn_rate, seconds=arguments.seconds, orders=300
            )
        }
        phase("pipeline")
        results["pipeline"] = await pipeline_phases(stack, arguments.orders, arguments.seconds)
        phase("scale")
        results["scale"] = await scale_phase(stack, arguments.scale_orders, arguments.history)
        results["rss_mb"] = stack.peak_rss_mb()
        phase("stopping")
    phase("done")
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    return results


if __name__ == "__main__":
    # moto's S3 server logs every request through werkzeug.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--orders", type=int, default=2000)
    cli.add_argument("--history", type=int, default=100_000)
    # Half the orders: the rate is what counts, and both runs must fit in 10 minutes.
    cli.add_argument("--scale-orders", type=int, default=800)
    cli.add_argument("--ipn-rate", type=float, default=200.0)
    cli.add_argument("--seconds", type=float, default=8.0, help="length of each load phase")
    results = asyncio.run(main(cli.parse_args()))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"written to {RESULTS / 'latest.json'}")
