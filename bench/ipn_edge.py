"""How fast the payments service answers NOWPayments' IPNs under a steady load.

Starts the payments service as a real process (uvicorn) on the real PostgreSQL and
RabbitMQ, places orders against the NOWPayments sandbox, then sends pre-signed IPNs
(every status of every order's payment, each twice: duplicates are part of real traffic)
at a fixed rate with an open-loop generator: request i leaves at start + i/rate whether or
not earlier ones were answered, and its latency counts from that planned moment, so a
stalled server cannot hide its queueing. The baseline is ``GET /healthz`` at the same rate
in the same run: the cost of HTTP and the event loop with no work at all.

    .venv/bin/python bench/ipn_edge.py [--rate 200] [--seconds 20] [--orders 200]

Environment: BITLOOT_TEST_POSTGRES_URL / BITLOOT_TEST_AMQP_URL (defaults: the local
servers). A fresh database and bus prefix are used and removed at the end.
"""

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx

from bitloot_payments.adapters.ipn_signature import sign
from bitloot_runtime.settings import DEFAULT_RETRY_DELAYS
from bitloot_runtime.tokens import generate_key_pair
from bitloot_runtime.topology import Topology
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.server import running
from bitloot_testing.net import free_port
from bitloot_testing.postgres import async_url
from bitloot_testing.rabbitmq import BusNamespace

POSTGRES = os.environ.get(
    "BITLOOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
AMQP = os.environ.get("BITLOOT_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
API_KEY, IPN_SECRET, TOKEN = "bench-api-key", "bench-ipn-secret", "bench-internal-token"
STATUSES = ("waiting", "confirming", "confirmed", "sending", "finished")


@dataclass
class Run:
    """One load phase: latencies in ms of the answered requests, failures by reason."""

    name: str
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    server_cpu: float = 0.0

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1

    def summary(self) -> str:
        ordered = sorted(self.latencies) or [0.0]
        cuts = (
            statistics.quantiles(ordered, n=100, method="inclusive")
            if len(ordered) > 1
            else ordered * 99
        )
        return (
            f"{self.name:<18} {len(self.latencies):>6} ok  {sum(self.failures.values()):>4} failed"
            f"  {len(self.latencies) / self.elapsed:7.1f} req/s  p50 {cuts[49]:6.2f} ms"
            f"  p95 {cuts[94]:6.2f} ms  p99 {cuts[98]:6.2f} ms  max {ordered[-1]:7.2f} ms"
            + f"  server CPU {self.server_cpu * 1000 / max(1, len(self.latencies)):.2f} ms/req"
            + (f"  failures {self.failures}" if self.failures else "")
        )


async def open_loop(
    name: str, rate: float, seconds: float, send: Callable[[int], Awaitable[httpx.Response]]
) -> Run:
    """Send `rate` requests per second for `seconds`, each on schedule; measure each from
    its planned start."""
    run, tasks, total = Run(name), [], int(rate * seconds)
    start = time.perf_counter()

    async def one(index: int, planned: float) -> None:
        try:
            answer = await send(index)
        except httpx.HTTPError as exc:
            run.fail(type(exc).__name__)
            return
        if answer.status_code != 200:
            run.fail(str(answer.status_code))
            return
        run.latencies.append((time.perf_counter() - planned) * 1000)

    for index in range(total):
        planned = start + index / rate
        await asyncio.sleep(max(0.0, planned - time.perf_counter()))
        tasks.append(asyncio.create_task(one(index, planned)))
        if index % int(rate) == 0:
            done = len(run.latencies) + sum(run.failures.values())
            clock = time.perf_counter() - start
            line = f"\r  {name}: {clock:5.1f}s sent {index + 1:>6} answered {done:>6}"
            print(line, end="", flush=True)
    await asyncio.gather(*tasks)
    run.elapsed = time.perf_counter() - start
    print(f"\r  {name}: {run.elapsed:5.1f}s sent {total:>6} answered {total:>6}          ")
    return run


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(pid: int, phase: Awaitable[Run]) -> Run:
    """`phase`, with the CPU time the service spent while it ran."""
    before = cpu_seconds(pid)
    run = await phase
    run.server_cpu = cpu_seconds(pid) - before
    return run


@asynccontextmanager
async def database() -> AsyncIterator[str]:
    name = f"bitloot_bench_ipn_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(POSTGRES)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield async_url(POSTGRES, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def payments_process(
    database_url: str, nowpayments_url: str
) -> AsyncIterator[tuple[str, int]]:
    """The payments service as its own process; yields its base URL and pid."""
    port, bus = free_port(), BusNamespace(f"bench{secrets.token_hex(3)}.", AMQP)
    for name in Topology(bus.prefix).names("payments", DEFAULT_RETRY_DELAYS):
        bus.track_queue(name)
        bus.track_exchange(name)
    env = {
        **os.environ,
        "PAYMENTS_DATABASE_URL": database_url,
        "PAYMENTS_AMQP_URL": AMQP,
        "PAYMENTS_BUS_PREFIX": bus.prefix,
        "PAYMENTS_HTTP_PORT": str(port),
        "PAYMENTS_INTERNAL_TOKEN": TOKEN,
        "PAYMENTS_NOWPAYMENTS_API_URL": nowpayments_url,
        "PAYMENTS_NOWPAYMENTS_API_KEY": API_KEY,
        "PAYMENTS_NOWPAYMENTS_IPN_SECRET": IPN_SECRET,
        "PAYMENTS_PUBLIC_URL": "https://shop.bench.test",
        "PAYMENTS_ORDER_TOKEN_PRIVATE_KEY": generate_key_pair()[0],
    }
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
        [sys.executable, "-m", "bitloot_payments"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base_url, process)
        yield base_url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        await bus.delete_all()


async def wait_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit(f"payments exited with {process.returncode} at start-up")
            try:
                if (await http.get(f"{base_url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("payments did not become ready in 30 s")


async def signed_ipns(
    http: httpx.AsyncClient, base_url: str, orders: int
) -> list[tuple[bytes, str]]:
    """Every status of one payment per order, each sent twice, signed as NOWPayments signs."""
    headers = {"authorization": f"Bearer {TOKEN}"}
    product = {
        "title": "Bench",
        "kinguin_product_id": "k-1",
        "price": "12.50",
        "currency": "usd",
        "max_purchase_price": "9",
    }
    (
        await http.put(f"{base_url}/internal/products/bench", json=product, headers=headers)
    ).raise_for_status()
    bodies: list[bytes] = []
    for number in range(orders):
        body = {"email": f"bench{number}@example.com", "lines": [{"sku": "bench", "qty": 1}]}
        answer = await http.post(f"{base_url}/orders", json=body)
        answer.raise_for_status()
        order_id = answer.json()["order_id"]
        for status in STATUSES:
            ipn = {
                "payment_id": 6_000_000_000 + number, "payment_status": status,
                "order_id": order_id, "price_amount": 12.5, "price_currency": "usd",
                "pay_amount": 12.51, "actually_paid": 12.51 if status == "finished" else 0,
                "pay_currency": "usdttrc20", "order_description": f"BitLoot order {order_id}",
                "invoice_id": 1, "purchase_id": str(uuid4()),
            }  # fmt: skip
            bodies += [json.dumps(ipn).encode()] * 2
    return [(body, sign(body, IPN_SECRET)) for body in bodies]


async def drained(
    http: httpx.AsyncClient,
    base_url: str,
    limit: float = float(os.environ.get("BENCH_DRAIN_LIMIT", "120")),
) -> float | None:
    """Seconds until the service has applied every stored IPN (None: not within `limit`)."""
    start = time.perf_counter()
    headers = {"authorization": f"Bearer {TOKEN}"}
    params = {"result": "pending", "limit": "1"}
    while time.perf_counter() - start < limit:
        pending = await http.get(f"{base_url}/internal/ipns", params=params, headers=headers)
        if not pending.json()["items"]:
            return time.perf_counter() - start
        await asyncio.sleep(0.05)
    return None


async def main(rate: float, seconds: float, orders: int) -> None:
    config = NowPaymentsSandboxConfig(api_key=API_KEY, ipn_secret=IPN_SECRET, port=0)
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    async with (
        database() as database_url,
        running(config) as nowpayments_url,
        payments_process(database_url, nowpayments_url) as (base_url, pid),
        httpx.AsyncClient(limits=limits, timeout=30) as http,
    ):
        ipns = await signed_ipns(http, base_url, orders)
        print(f"payments at {base_url}; {len(ipns)} signed IPNs for {orders} orders")
        print(f"open loop, {rate:g} req/s for {seconds:g} s per phase")

        async def health(_index: int) -> httpx.Response:
            return await http.get(f"{base_url}/healthz")

        async def ipn(index: int) -> httpx.Response:
            body, signature = ipns[index % len(ipns)]
            headers = {"x-nowpayments-sig": signature, "content-type": "application/json"}
            return await http.post(f"{base_url}/payments/ipn", content=body, headers=headers)

        baseline = await measured(pid, open_loop("GET /healthz", rate, seconds, health))
        edge = await measured(pid, open_loop("POST /payments/ipn", rate, seconds, ipn))
        lag = await drained(http, base_url)
    print()
    print(baseline.summary())
    print(edge.summary())
    if lag is None:
        print("IPNs still pending 120 s after the last answer")
    else:
        print(f"every IPN applied {lag:.2f} s after the last answer (the work done after it)")


if __name__ == "__main__":
    cli = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("--rate", type=float, default=200.0)
    cli.add_argument("--seconds", type=float, default=20.0)
    cli.add_argument("--orders", type=int, default=200)
    arguments = cli.parse_args()
    asyncio.run(main(arguments.rate, arguments.seconds, arguments.orders))
