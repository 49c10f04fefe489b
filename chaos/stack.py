"""The production topology for the chaos run, with every dependency under its control:
its own PostgreSQL and RabbitMQ (`chaos.servers`), moto's S3 and an SMTP server behind
proxies it can cut (`bitloot_testing.proxy`), both provider sandboxes, and the five services as
processes configured by `bitloot_demo.processes` (the table `make up` uses).
"""

import asyncio
import dataclasses
import signal
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import httpx

from bench.stack import start_process
from bitloot_demo.up import wait_ready
from bitloot_launch import infra
from bitloot_launch.wiring import NAMES, Machine, Process, Secrets, processes
from bitloot_payments.entrypoints.catalog_cli import CatalogClient
from bitloot_runtime.topology import Topology
from bitloot_testing.net import free_port
from bitloot_testing.proxy import FaultyProxy
from chaos.servers import PrivatePostgres, PrivateRabbit

TAP_QUEUE = "chaos.tap"
# A Kinguin sandbox product the demo catalog does not sell, listed for the refund path:
# Kinguin refuses every purchase of it (out of stock when bought, though its catalog
# shows stock at checkout), so each order of it fails after payment and is refunded.
REFUND_SKU = "hollow-knight"
REFUND_PRODUCT_ID = "5c9b5e5e2539a4e8f17270b0"
REFUND_PRODUCT = {"sku": REFUND_SKU, "title": "Hollow Knight (Steam)", "active": True,
                  "kinguin_product_id": REFUND_PRODUCT_ID, "price": "7.99", "currency": "usd",
                  "max_purchase_price": "6.00"}  # fmt: skip
# Providers retry their callbacks for hours (we model a few minutes): a webhook that
# finds the gateway or payments restarting is sent again, as in production. Kinguin's
# sandbox sends each webhook once more and newest first throughout (faults, below).
CALLBACK_RETRIES = {"CALLBACK_ATTEMPTS": "10", "CALLBACK_BACKOFF": "0.5"}
OVERRIDES = {
    "nowpayments-sandbox": {f"NOWPAYMENTS_SANDBOX_{k}": v for k, v in CALLBACK_RETRIES.items()},
    "kinguin-sandbox": {f"KINGUIN_SANDBOX_{k}": v for k, v in CALLBACK_RETRIES.items()},
}


@dataclass
class ChaosStack:
    """Everything the run started, and the handles to break it."""

    logs: Path
    machine: Machine
    keys: Secrets
    mailbox: infra.Mailbox
    s3_endpoint: str  # moto itself, for the final scan (the services go through the proxy)
    postgres: PrivatePostgres
    rabbit: PrivateRabbit
    proxies: dict[str, FaultyProxy]
    specs: dict[str, Process] = field(default_factory=dict)
    children: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.machine.url(name)

    @property
    def payments(self) -> str:
        return self.url("payments")

    @property
    def internal_token(self) -> str:
        return self.keys.internal_token

    @property
    def internal(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.internal_token}"}

    @property
    def exchange(self) -> str:
        return Topology(self.machine.bus_prefix).exchange.name

    async def start(self, name: str, http: httpx.AsyncClient) -> float:
        """Start process `name` (its log appended to); seconds until it was ready."""
        started = time.monotonic()
        spec = self.specs[name]
        child = await start_process(spec, self.logs, append=name in self.children)
        self.children[name] = child
        if not await wait_ready(http, self.url(name) + spec.ready_path, child, timeout=120):
            raise SystemExit(f"{name} did not become ready; see {self.logs / (name + '.log')}")
        return time.monotonic() - started

    async def kill(self, name: str) -> None:
        """SIGKILL: no shutdown handler runs, as when a node dies."""
        child = self.children[name]
        child.send_signal(signal.SIGKILL)
        await child.wait()
        self.restarts[name] = self.restarts.get(name, 0) + 1

    async def stop_all(self) -> None:
        """SIGTERM each process, the last started first; SIGKILL one still up after 30 s."""
        for child in reversed(list(self.children.values())):
            if child.returncode is not None:
                continue
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
                await child.wait()


@asynccontextmanager
async def running(run_dir: Path | None = None) -> AsyncIterator[ChaosStack]:
    """Start everything (servers, proxies, sandboxes, services); stop it all at the end.
    The run's directory (logs, server data) is kept for the on-call engineer to read."""
    root = run_dir or Path(tempfile.mkdtemp(prefix="bitloot-chaos-"))
    root.chmod(0o755)  # the servers run as their own users and must reach their folders
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    postgres, rabbit = PrivatePostgres(root / "postgres"), PrivateRabbit(root / "rabbitmq")
    async with AsyncExitStack() as stack:
        await asyncio.to_thread(postgres.start)
        stack.callback(postgres.stop)
        await asyncio.to_thread(rabbit.start)
        stack.callback(rabbit.stop)
        s3 = stack.enter_context(infra.s3_server())
        mailbox = stack.enter_context(infra.smtp_server())
        s3_host, s3_port = s3.removeprefix("http://").split(":")
        proxies = {
            "s3": FaultyProxy("s3", s3_host, int(s3_port)),
            "smtp": FaultyProxy("smtp", mailbox.host, mailbox.port),
        }
        for proxy in proxies.values():
            await proxy.up()
            stack.push_async_callback(proxy.close)
        machine = Machine(
            postgres_url=postgres.url,
            amqp_url=rabbit.url,
            bus_prefix="chaos.",
            database_prefix="bitloot_",
            s3_endpoint=f"http://127.0.0.1:{proxies['s3'].port}",
            s3_bucket="bitloot-keys",
            smtp_host="127.0.0.1",
            smtp_port=proxies["smtp"].port,
            ports={name: free_port() for name in NAMES},
        )
        chaos = ChaosStack(
            logs, machine, Secrets.generate(), mailbox, s3, postgres, rabbit, proxies
        )
        for process in processes(machine, chaos.keys):
            env = {**process.env, **OVERRIDES.get(process.name, {})}
            chaos.specs[process.name] = dataclasses.replace(process, env=env)
        stack.push_async_callback(chaos.stop_all)
        async with httpx.AsyncClient() as http:
            for name in chaos.specs:
                seconds = await chaos.start(name, http)
                print(f"  {name} ready in {seconds:.1f} s (pid {chaos.children[name].pid})")
        await declare_tap(chaos)
        yield chaos


async def list_refund_product(http: httpx.AsyncClient, chaos: ChaosStack) -> None:
    """List `REFUND_SKU` through payments' catalog API (the client the demo seeds with)
    and make Kinguin refuse to sell it (the sandbox's faults are merged field by field:
    the others are kept)."""
    await CatalogClient(http, chaos.payments, chaos.internal_token).put(REFUND_PRODUCT)
    refused = await http.post(
        f"{chaos.url('kinguin-sandbox')}/sandbox/faults",
        json={"out_of_stock": [REFUND_PRODUCT_ID]},
    )
    refused.raise_for_status()


async def declare_tap(chaos: ChaosStack) -> None:
    """A durable quorum queue bound to every event: it outlives the broker's restart and
    holds every message published during the run for the leak scan at the end."""
    connection = await aio_pika.connect(chaos.machine.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(chaos.exchange)
        queue = await channel.declare_queue(
            TAP_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange, routing_key="#")
    finally:
        await connection.close()


@dataclass(frozen=True)
class Tapped:
    """A message seen on the bus."""

    topic: str
    body: bytes
    headers: bytes  # as printed, for the leak scan


async def drain_tap(chaos: ChaosStack) -> list[Tapped]:
    """Every message the tap holds, in the order published."""
    connection = await aio_pika.connect(chaos.machine.amqp_url)
    found: list[Tapped] = []
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            TAP_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
        )
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            headers = repr(message.headers).encode()
            found.append(Tapped(message.routing_key or "", message.body, headers))
    finally:
        await connection.close()
    return found
