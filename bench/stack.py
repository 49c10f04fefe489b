"""The production topology for one bench run: every service and sandbox as its own process
(the wiring table and supervisor of `bitloot_launch`, as `make up`), moto's S3 server and
an SMTP server in this process that records when it accepted each message.

Everything is named from one run namespace (databases `bitloot_bench_<id>_*`, bus prefix
`bench<id>.`) and removed at the end, whatever happened; other runs are never touched.
"""

import dataclasses
import json
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench import statements
from bitloot_launch import infra
from bitloot_launch.namespace import Namespace
from bitloot_launch.supervisor import Supervisor
from bitloot_launch.wiring import SERVICES, Machine, Process, Secrets, processes
from bitloot_testing.net import free_port
from bitloot_testing.rabbitmq import BusNamespace

POSTGRES = os.environ.get(
    "BITLOOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
AMQP = os.environ.get("BITLOOT_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
# The sandbox's first product, with stock for every order of a run.
PRODUCT_ID = "5c9b5f6b2539a4e8f172916a"
SANDBOX_PRODUCTS = {PRODUCT_ID: {"name": "Bench key", "price": "2.50", "stock": 1_000_000}}
# Per-service overrides of the `make up` table: the Kinguin sandbox answers at once; the
# gateway does not pace its calls to Kinguin's quota (2,000 a minute per API key, a limit
# of the provider, not of this machine); the NOWPayments sandbox pays nothing by itself
# (the pipeline injects finished payments).
OVERRIDES = {
    "kinguin-gateway": {"KINGUIN_GATEWAY_KINGUIN_RATE_LIMIT_PER_MINUTE": "600000"},
    "kinguin-sandbox": {
        "KINGUIN_SANDBOX_WEBHOOK_DELAY": "0",
        "KINGUIN_SANDBOX_PRODUCTS": json.dumps(SANDBOX_PRODUCTS),
    },
    "nowpayments-sandbox": {"NOWPAYMENTS_SANDBOX_AUTO_PAY": "false"},
}


@dataclass
class Stack:
    """A running topology: where each process answers, its pid, and the SMTP acceptances."""

    run_id: str
    machine: Machine
    keys: Secrets
    mailbox: infra.Mailbox
    logs: Path
    bus: BusNamespace
    supervisor: Supervisor
    accepted: dict[str, float] = field(default_factory=dict)  # recipient -> wall clock

    def url(self, name: str) -> str:
        return self.machine.url(name)

    def database_dsn(self, name: str) -> str:
        """A plain (asyncpg) DSN of database `<prefix><name>` on the run's server."""
        base, _, _ = POSTGRES.rpartition("/")
        return f"{base}/{self.machine.database_prefix}{name.replace('-', '_')}"

    async def create_database(self, name: str) -> None:
        """Database `<prefix><name>`, created unless it exists (dropped at the end if
        `running_stack` was told its name)."""
        database = f"{self.machine.database_prefix}{name}"
        admin = await asyncpg.connect(POSTGRES)
        try:
            query = "SELECT 1 FROM pg_database WHERE datname = $1"
            if await admin.fetchval(query, database) is None:
                await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()

    def pid(self, name: str) -> int:
        """The pid of process `name` (its first instance)."""
        pid = self.supervisor.pid(f"{name}-1")
        if pid is None:
            raise RuntimeError(f"{name} is not running")
        return pid

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU time each service process has used so far (Linux)."""
        return {service: cpu_seconds(self.pid(service)) for service in SERVICES}

    def statements_file(self, name: str) -> Path:
        """Where process `name` writes its statement counts (bench.statements)."""
        return statements_file(self.logs, name)

    def peak_rss_mb(self) -> dict[str, float]:
        """VmHWM (peak resident set) of each service process, in MiB."""
        return {service: round(_vm_hwm_kb(self.pid(service)) / 1024, 1) for service in SERVICES}


def statements_file(logs: Path, name: str) -> Path:
    return logs / f"statements-{name}.json"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time process `pid` has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"process {pid} reports no VmHWM")


@asynccontextmanager
async def running_stack(extra_databases: list[str]) -> AsyncIterator[Stack]:
    """Start the whole topology; stop it, drop its databases (and `extra_databases`, names
    under the same prefix) and delete its bus names on the way out."""
    namespace = Namespace.fresh("bench", POSTGRES, AMQP)
    bus = namespace.bus()
    run_id = namespace.bus_prefix.removeprefix("bench").rstrip(".")
    logs = Path(tempfile.mkdtemp(prefix=f"bitloot-bench-{run_id}-"))
    with ExitStack() as servers:
        accepted: dict[str, float] = {}

        def record(mail: infra.Mail) -> None:
            for recipient in mail.recipients:
                accepted.setdefault(recipient, mail.accepted_at)

        s3 = servers.enter_context(infra.s3_server())
        mailbox = servers.enter_context(infra.smtp_server(on_mail=record))
        names = ["nowpayments-sandbox", "kinguin-sandbox", *SERVICES]
        machine = Machine(
            postgres_url=POSTGRES,
            amqp_url=AMQP,
            bus_prefix=namespace.bus_prefix,
            database_prefix=namespace.database_prefix,
            s3_endpoint=s3,
            s3_bucket=f"bench-{run_id}",
            smtp_host=mailbox.host,
            smtp_port=mailbox.port,
            ports={name: free_port() for name in names},
        )
        keys = Secrets.generate()
        supervisor = Supervisor(
            [_override(process, logs) for process in processes(machine, keys)],
            logs,
            command=_command,
            stop_signal=_stop_signal,
        )
        try:
            async with supervisor:
                for name in names:
                    print(f"  {name} ready (pid {supervisor.pid(name + '-1')})", flush=True)
                yield Stack(run_id, machine, keys, mailbox, logs, bus, supervisor, accepted)
        finally:
            await namespace.drop_databases(extra_databases)
            await bus.delete_all()


def _override(process: Process, logs: Path) -> Process:
    env = {**process.env, **OVERRIDES.get(process.name, {})}
    if process.name in SERVICES:
        env[statements.ENV] = str(statements_file(logs, process.name))
    return dataclasses.replace(process, env=env)


def _command(process: Process) -> list[str]:
    """`python -m <module>`, a service's through bench.statements (which counts its SQL
    statements), under pyinstrument for the service named in BENCH_PROFILE (its report goes
    to bench/results/profile-<service>.txt when it stops)."""
    module = ["-m", process.module]
    if process.name in SERVICES:
        module = ["-m", "bench.statements", process.module]
    if os.environ.get("BENCH_PROFILE") == process.name:
        report = Path(__file__).parent / "results" / f"profile-{process.name}.txt"
        return [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(report), *module]
    return [sys.executable, *module]


def _stop_signal(process: Process) -> int:
    """uvicorn re-raises the signal it stopped on; pyinstrument writes its report on the
    KeyboardInterrupt of a SIGINT, and never after a SIGTERM."""
    profiled = os.environ.get("BENCH_PROFILE") == process.name
    return signal.SIGINT if profiled else signal.SIGTERM
