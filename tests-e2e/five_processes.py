"""The production topology for an end-to-end test: both sandboxes and the five services,
each its own process under the launcher's supervisor (`bitloot_launch`), on the test's own
databases, bus namespace, S3 bucket and SMTP inbox; every process's output in a log file
of its own."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bitloot_launch.supervisor import Supervisor
from bitloot_launch.wiring import NAMES, SERVICES, Machine, Secrets, processes
from bitloot_runtime.settings import DEFAULT_RETRY_DELAYS
from bitloot_runtime.topology import Topology
from bitloot_testing.net import free_port
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.s3 import S3Server
from bitloot_testing.smtp import SmtpServer

SHORT_SETTINGS = {"RETRY_DELAYS": "0.5,1,2", "OUTBOX_POLL_INTERVAL": "0.5"}


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


@dataclass(frozen=True)
class Running:
    """The running topology: each process's base URL, its log, the secrets they share
    and each service's database."""

    url: dict[str, str]
    logs: dict[str, Path]
    keys: Secrets
    databases: dict[str, str]
    topology: Topology

    @property
    def internal(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.internal_token}"}


@dataclass(frozen=True)
class Servers:
    """What a test's topology runs on (the fixtures'), and how to start it there."""

    tmp_path: Path
    database_factory: Callable[[str], Awaitable[str]]
    bus_prefix: BusNamespace
    s3_server: S3Server
    s3_bucket: str
    smtp_inbox: SmtpServer

    def start(
        self,
        service_settings: Mapping[str, str] = SHORT_SETTINGS,
        kinguin_sandbox_settings: Mapping[str, str] | None = None,
    ) -> AbstractAsyncContextManager[Running]:
        """The five services and both sandboxes, as `five_processes` runs them."""
        return five_processes(self, service_settings, kinguin_sandbox_settings)


@asynccontextmanager
async def five_processes(
    servers: Servers,
    service_settings: Mapping[str, str] = SHORT_SETTINGS,
    kinguin_sandbox_settings: Mapping[str, str] | None = None,
) -> AsyncIterator[Running]:
    """Start everything on `servers`, wait until each process is ready, stop them all at
    the end (the logs are complete once the block has ended)."""
    tmp_path, database_factory, bus_prefix = (
        servers.tmp_path,
        servers.database_factory,
        servers.bus_prefix,
    )
    s3_server, smtp_inbox = servers.s3_server, servers.smtp_inbox
    s3_bucket = servers.s3_bucket
    databases = {service: await database_factory(service) for service in SERVICES}
    machine = Machine(
        postgres_url="",  # every database is the test's own (above)
        amqp_url=bus_prefix.amqp_url,
        bus_prefix=bus_prefix.prefix,
        database_prefix="",
        s3_endpoint=s3_server.endpoint_url,
        s3_bucket=s3_bucket,
        smtp_host=smtp_inbox.host,
        smtp_port=smtp_inbox.port,
        ports={name: free_port() for name in NAMES},
        admin_username="ops",
        service_settings=service_settings,
        databases=databases,
        kinguin_sandbox_settings=kinguin_sandbox_settings or {},
    )
    keys = Secrets.generate()
    bus_prefix.track_services(SERVICES, (0.5, 1, 2, *DEFAULT_RETRY_DELAYS))
    running = Running(
        url={name: machine.url(name) for name in NAMES},
        logs={name: tmp_path / f"{name}.log" for name in NAMES},
        keys=keys,
        databases=databases,
        topology=Topology(bus_prefix.prefix),
    )
    async with Supervisor(processes(machine, keys), tmp_path, ready_timeout=60):
        yield running
