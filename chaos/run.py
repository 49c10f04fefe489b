"""`make chaos`: hundreds of orders under steady load while everything BitLoot depends on
fails in turn, then proof that no order was lost, bought twice, emailed twice, or left
parked unexplained, and that no key or secret leaked (docs/architecture.md §3).

Phases: start the topology (chaos.stack); place orders at a steady rate while the
faults of chaos.faults happen, one in 25 of a product Kinguin refuses, whose customers
claim their refunds and an admin approves them meanwhile (chaos.refunds); wait until
every order has ended and every refund was sent; verify (chaos.verify).
Prints progress, then a table of the faults and a table of the checks; exits 1 if a check
failed. Writes chaos/results/latest.json. Everything runs on servers of its own: the
machine's PostgreSQL and RabbitMQ are never touched.

    python -m chaos.run [--orders 600] [--rate 2.5] [--drain 420] [--seed N] [--instances 2]
"""

import argparse
import asyncio
import json
import logging
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import httpx

from bitloot_launch.catalog import seed_catalog
from bitloot_launch.wiring import SERVICES
from chaos import faults, load, refunds
from chaos.stack import ChaosStack, list_refund_product, running
from chaos.verify import TERMINAL, Check, saga_states, verify

RESULTS = Path(__file__).parent / "results"


def status(text: str) -> None:
    print(f"\r  {text}".ljust(100), end="", flush=True)


async def report_progress(
    stack: ChaosStack, placed: load.Placed, desk: refunds.RefundDesk, started: float
) -> None:
    fulfilled, note = 0, ""
    async with httpx.AsyncClient(timeout=10) as http:
        while True:
            await asyncio.sleep(5)
            try:
                states = await saga_states(http, stack, list(placed.emails))
                fulfilled = sum(1 for state in states.values() if state == "fulfilled")
                note = ""
            except httpx.HTTPError:
                note = " (fulfillment not answering)"
            status(
                f"[{time.monotonic() - started:5.0f} s] placed {len(placed.emails)},"
                f" fulfilled {fulfilled}{note}, emails {len(stack.mailbox.mails)},"
                f" checkout retries {placed.retried}, refunds {len(placed.refunds)}"
                f" ({len(desk.claimed)} claimed, {len(desk.approved)} approved)"
            )


async def drain(stack: ChaosStack, placed: load.Placed, timeout: float) -> float:
    """Wait until every order has ended, its customer emailed, and every refund order's
    refund was sent and said so (or `timeout`); seconds waited."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as http:
        while time.monotonic() - started < timeout:
            try:
                states = await saga_states(http, stack, list(placed.emails))
                found = await refunds.refunds_of(http, stack, sorted(placed.refunds))
            except httpx.HTTPError:
                states, found = {}, {}
            ended = sum(1 for state in states.values() if state in TERMINAL)
            mails = stack.mailbox.mails
            keyed = {r for m in mails if m.is_key_email for r in m.recipients}
            told = {r for m in mails if m.kind == "refund_sent" for r in m.recipients}
            emailed = sum(1 for e in placed.normal.values() if e in keyed)
            emailed += sum(1 for e in placed.refund_emails.values() if e in told)
            sent = sum(1 for items in found.values() if any(r["status"] == "sent" for r in items))
            if ended == len(placed.emails) == emailed and sent == len(placed.refunds):
                break
            status(
                f"draining: {ended}/{len(placed.emails)} ended, {emailed} customers emailed,"
                f" {sent}/{len(placed.refunds)} refunds sent"
            )
            await asyncio.sleep(2)
    return time.monotonic() - started


def table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]
    line = "+".join("-" * (w + 2) for w in widths)

    def render(row: tuple[str, ...]) -> str:
        return "|".join(f" {cell.ljust(width)} " for cell, width in zip(row, widths, strict=True))

    return "\n".join([render(headers), line, *(render(row) for row in rows)])


def checks_table(checks: list[Check]) -> str:
    rows = [(c.name, c.expected, c.found, "ok" if c.ok else "FAILED") for c in checks]
    text = table(("check", "expected", "found", ""), rows)
    for check in checks:
        if check.details:
            text += f"\n\n{check.name}:\n" + "\n".join(f"  {d}" for d in check.details)
    return text


async def main(arguments: argparse.Namespace) -> bool:
    begun = time.monotonic()
    print("starting the topology on servers of its own", flush=True)
    replicas = dict.fromkeys(SERVICES, arguments.instances)
    async with running(instances=replicas) as stack:
        print(f"  logs in {stack.logs}", flush=True)
        async with httpx.AsyncClient(timeout=30) as http:
            await seed_catalog(http, stack)
            await list_refund_product(http, stack)
        load_seconds = arguments.orders / arguments.rate
        plan = faults.schedule(arguments.seed, load_seconds)
        print(f"fault seed {arguments.seed} (replay: --seed {arguments.seed})", flush=True)
        print(f"load: {arguments.orders} orders at {arguments.rate:g}/s ({load_seconds:.0f} s),"
              f" {len(plan)} faults", flush=True)  # fmt: skip
        placed, happened = load.Placed(), list[faults.Happened]()
        desk = refunds.RefundDesk()
        started = time.monotonic()
        progress = asyncio.create_task(report_progress(stack, placed, desk, started))
        refunding = asyncio.create_task(refunds.customers_and_admin(stack, placed, desk))
        await asyncio.gather(
            load.steady(stack.url("payments"), arguments.orders, arguments.rate, placed),
            faults.inject(stack, plan, started, happened),
        )
        progress.cancel()
        print(f"\nload done after {time.monotonic() - started:.0f} s; draining", flush=True)
        waited = await drain(stack, placed, arguments.drain)
        refunding.cancel()
        await asyncio.gather(refunding, return_exceptions=True)
        print(f"\ndrained in {waited:.0f} s; verifying", flush=True)
        checks = await verify(stack, placed, desk)
    elapsed = time.monotonic() - begun
    print("\nfaults:\n" + table(("at", "fault", "outcome"),
          [(f"{h.at:.0f} s", h.name, h.outcome) for h in happened]))  # fmt: skip
    print("\nchecks:\n" + checks_table(checks))
    ok = all(check.ok for check in checks)
    print(f"\n{'PASSED' if ok else 'FAILED'}: {len(placed.emails)} orders, {len(happened)} faults,"
          f" {elapsed:.0f} s in all; logs in {stack.logs}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    results = {
        "seed": arguments.seed,
        "orders": len(placed.emails),
        "refund_orders": len(placed.refunds),
        "elapsed_s": round(elapsed, 1),
        "drain_s": round(waited, 1),
        "faults": [asdict(h) for h in happened],
        "checks": [asdict(c) for c in checks],
        "passed": ok,
    }
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    return ok


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every request
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--orders", type=int, default=600)
    cli.add_argument("--rate", type=float, default=2.5, help="orders placed per second")
    seed = random.SystemRandom().randrange(2**31)
    cli.add_argument("--seed", type=int, default=seed, help="the fault schedule's (printed)")
    cli.add_argument("--drain", type=float, default=420, help="most seconds to wait after")
    cli.add_argument(
        "--instances", type=int, default=2, help="of each service, competing consumers"
    )
    sys.exit(0 if asyncio.run(main(cli.parse_args())) else 1)
