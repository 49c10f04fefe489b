"""The production topology for the chaos run, with every dependency under its control:
its own PostgreSQL and three-node RabbitMQ cluster (`bitloot_testing.private_servers`),
moto's S3 and an SMTP server behind proxies it can cut (`bitloot_testing.proxy`), both
provider sandboxes, and the five services, two instances each, as processes of the wiring
table `make up` uses, under the same supervisor (`bitloot_launch.supervisor`): a killed
instance is restarted by supervision, as Kubernetes would, and the faults measure how
long it takes to answer again.
"""

import asyncio
import dataclasses
import signal
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bitloot_launch import infra
from bitloot_launch.supervisor import Supervisor
from bitloot_launch.wiring import NAMES, Machine, Process, Secrets, processes
from bitloot_payments.entrypoints.catalog_cli import CatalogClient
from bitloot_runtime.topology import Topology
from bitloot_testing.net import free_port
from bitloot_testing.private_servers import PrivatePostgres, PrivateRabbitCluster
from bitloot_testing.proxy import FaultyProxy
from chaos import firehose
from chaos.firehose import Published

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
    # An email whose sender died during SMTP DATA is resent once its lease ends (with the
    # same Message-ID); the shortest lease allowed, so that a run's drain outlasts it.
    "delivery": {"DELIVERY_EMAIL_LEASE_SECONDS": "60"},
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
    rabbit: PrivateRabbitCluster
    proxies: dict[str, FaultyProxy]
    supervisor: Supervisor

    def url(self, name: str) -> str:
        return self.machine.url(name)

    @property
    def payments(self) -> str:
        return self.url("payments")

    @property
    def fulfillment(self) -> str:
        return self.url("fulfillment")

    @property
    def internal_token(self) -> str:
        return self.keys.internal_token

    @property
    def internal(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.internal_token}"}

    @property
    def exchange(self) -> str:
        return Topology(self.machine.bus_prefix).exchange.name

    @property
    def database_prefix(self) -> str:
        return self.machine.database_prefix

    @property
    def restarts(self) -> dict[str, int]:
        """Restarts by supervision so far, per instance (``payments-1``)."""
        return self.supervisor.restarts

    def instances(self, name: str) -> list[str]:
        return self.supervisor.instances(name)

    def pid(self, instance: str) -> int | None:
        return self.supervisor.pid(instance)

    async def ready_again(self, instance: str, timeout: float = 120.0) -> float:
        return await self.supervisor.ready_again(instance, timeout)

    async def kill(self, target: str, sig: int = signal.SIGKILL) -> None:
        """`sig` (SIGKILL: no shutdown handler runs, as when a node dies) to one instance
        (``payments-2``) or to every instance of a process (``payments``); supervision
        starts each again after its back-off."""
        victims = self.instances(target) if target in NAMES else [target]
        await asyncio.gather(*(self.supervisor.kill(victim, sig) for victim in victims))

    async def start(self, name: str, http: httpx.AsyncClient | None = None) -> float:
        """Seconds until every instance of process `name`, restarted by supervision after
        a kill, answers its ready path again (SystemExit after 120 s)."""
        try:
            waits = [self.ready_again(instance, 120) for instance in self.instances(name)]
            return max(await asyncio.gather(*waits))
        except TimeoutError:
            raise SystemExit(f"{name} did not become ready again; see {self.logs}") from None

    async def stop_all(self) -> None:
        """Stop every process (SIGTERM, the last started first; SIGKILL after 30 s)."""
        await self.supervisor.stop()


@asynccontextmanager
async def running(
    run_dir: Path | None = None, instances: Mapping[str, int] | None = None
) -> AsyncIterator[ChaosStack]:
    """Start everything (servers, proxies, sandboxes, services — `instances` of each
    process named there, one otherwise); stop it all at the end. The run's directory
    (logs, server data) is kept for the on-call engineer to read."""
    root = run_dir or Path(tempfile.mkdtemp(prefix="bitloot-chaos-"))
    root.chmod(0o755)  # the servers run as their own users and must reach their folders
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    postgres = PrivatePostgres(root / "postgres")
    rabbit = PrivateRabbitCluster(root / "rabbitmq", size=3, trace=True)  # services use its front
    async with AsyncExitStack() as stack:
        await asyncio.to_thread(postgres.start)
        stack.callback(postgres.stop)
        await stack.enter_async_context(rabbit)
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
            instances=dict(instances or {}),
        )
        keys = Secrets.generate()
        supervisor = Supervisor([_override(p) for p in processes(machine, keys)], logs)
        await stack.enter_async_context(supervisor)
        for name in NAMES:
            pids = ", ".join(str(supervisor.pid(i)) for i in supervisor.instances(name))
            print(f"  {name} ready (pid {pids})", flush=True)
        chaos = ChaosStack(logs, machine, keys, mailbox, s3, postgres, rabbit, proxies, supervisor)
        await declare_tap(chaos)
        yield chaos


def _override(process: Process) -> Process:
    return dataclasses.replace(process, env={**process.env, **OVERRIDES.get(process.name, {})})


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
    """The bus witness: RabbitMQ's firehose on the run's vhost (`chaos.firehose`), so
    every publish to every exchange during the run is kept for the checks at the end.
    Each node of the cluster traces the vhost from its boot (`trace=True`), so a node
    restarted mid-run is traced again without a call."""
    await firehose.trace_on(chaos.rabbit.ctl, chaos.machine.amqp_url)


async def drain_tap(chaos: ChaosStack) -> list[Published]:
    """Every publish the firehose saw, in the order the broker saw them."""
    return await firehose.drain(chaos.machine.amqp_url)
