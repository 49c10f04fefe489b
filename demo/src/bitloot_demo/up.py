"""`make up` / `python -m bitloot_demo.up`: the production topology on this machine.

Every service runs as its own process against the local RabbitMQ and PostgreSQL, with
moto's S3 server and an SMTP server (aiosmtpd, which saves each message under
`<state>/mail/`) in this process, and both provider sandboxes as processes. Every output
line is prefixed with its process's name. Ctrl-C (or SIGTERM) stops the services, then
the sandboxes, each with SIGTERM so in-flight messages finish or return to their queues;
one that has not stopped after `--stop-timeout` seconds is killed, and the exit status
says so (0: everything stopped cleanly).

The secrets are generated on first start and kept in `<state>/secrets.json` (mode 0600),
so that a restart can still decrypt what the databases hold; delete the state directory
and the `bitloot_*` databases to start afresh.
"""

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from bitloot_demo import infra, scenario
from bitloot_demo.processes import NAMES, Machine, Process, Secrets, processes
from bitloot_demo.stack import Stack

COLOURS = ("36", "32", "33", "35", "34", "90", "90")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bitloot-up", description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument(
        "--postgres-url",
        default=env("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--amqp-url", default=env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--bus-prefix", default="", help="prefix of every exchange and queue")
    parser.add_argument("--database-prefix", default="bitloot_", help="prefix of the databases")
    parser.add_argument(
        "--port-base",
        type=int,
        default=8000,
        help="admin on this port, the services and sandboxes on the next ones (default 8000)",
    )
    parser.add_argument("--state-dir", type=Path, default=Path(".up"), help="secrets and mail")
    parser.add_argument("--stop-timeout", type=float, default=20.0)
    return parser.parse_args(argv)


class Console:
    """Writes each process's lines with its name in front (coloured on a terminal)."""

    def __init__(self) -> None:
        self._colour = sys.stdout.isatty()
        self._width = max(map(len, NAMES)) + 1

    def line(self, name: str, text: str) -> None:
        label = name.ljust(self._width)
        if self._colour:
            code = COLOURS[NAMES.index(name)] if name in NAMES else "1"
            label = f"\033[{code}m{label}\033[0m"
        sys.stdout.write(f"{label}| {text.rstrip()}\n")
        sys.stdout.flush()


class Supervisor:
    """Starts the processes in order and stops them in reverse, forwarding their output."""

    def __init__(self, console: Console, stop_timeout: float) -> None:
        self._console = console
        self._stop_timeout = stop_timeout
        self._children: list[tuple[Process, asyncio.subprocess.Process]] = []
        self._pumps: list[asyncio.Task[None]] = []
        self.exited = asyncio.Event()
        self.stopping = False

    async def start(self, process: Process) -> asyncio.subprocess.Process:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            process.module,
            env={**os.environ, **process.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # Its own session: Ctrl-C reaches the supervisor only, which stops the
            # services in order instead of every process at once.
            start_new_session=True,
        )
        self._children.append((process, child))
        self._pumps.append(asyncio.create_task(self._pump(process.name, child)))
        return child

    async def _pump(self, name: str, child: asyncio.subprocess.Process) -> None:
        assert child.stdout is not None
        async for raw in child.stdout:
            self._console.line(name, raw.decode(errors="replace"))
        code = await child.wait()
        stopped = self.stopping and code in (0, -signal.SIGTERM)
        self._console.line(name, "stopped" if stopped else f"exited with status {code}")
        self.exited.set()

    def running(self) -> bool:
        return all(child.returncode is None for _, child in self._children)

    async def stop(self) -> bool:
        """SIGTERM each process, the last started first; True if none had to be killed."""
        clean, self.stopping = True, True
        for process, child in reversed(self._children):
            if child.returncode is not None:
                continue
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), self._stop_timeout)
            except TimeoutError:
                self._console.line(
                    process.name, f"still running after {self._stop_timeout} s: killed"
                )
                child.kill()
                await child.wait()
                clean = False
        await asyncio.gather(*self._pumps, return_exceptions=True)
        return clean


async def wait_ready(
    http: httpx.AsyncClient, url: str, child: asyncio.subprocess.Process, timeout: float = 90
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.returncode is None:
        try:
            if (await http.get(url, timeout=2)).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    return False


def machine_for(args: argparse.Namespace, s3_endpoint: str, mailbox: infra.Mailbox) -> Machine:
    return Machine(
        postgres_url=args.postgres_url,
        amqp_url=args.amqp_url,
        bus_prefix=args.bus_prefix,
        database_prefix=args.database_prefix,
        s3_endpoint=s3_endpoint,
        s3_bucket="bitloot-keys",
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        ports={name: args.port_base + offset for offset, name in enumerate(NAMES)},
    )


def mail_saver(console: Console, directory: Path) -> infra.MailHandler:
    directory.mkdir(parents=True, exist_ok=True)

    def save(mail: infra.Mail) -> None:
        path = (
            directory / f"{time.strftime('%Y%m%d-%H%M%S')}-{len(list(directory.iterdir())):04d}.eml"
        )
        path.write_bytes(bytes(mail.message))
        console.line("smtp", f"mail to {', '.join(mail.recipients)} saved in {path}")

    return save


async def up(args: argparse.Namespace) -> int:
    console = Console()
    keys = Secrets.load_or_create(args.state_dir / "secrets.json")
    with ExitStack() as servers:
        s3_endpoint = servers.enter_context(infra.s3_server(args.port_base + 20))
        mailbox = servers.enter_context(
            infra.smtp_server(args.port_base + 25, mail_saver(console, args.state_dir / "mail"))
        )
        machine = machine_for(args, s3_endpoint, mailbox)
        supervisor = Supervisor(console, args.stop_timeout)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with httpx.AsyncClient() as http:
            for process in processes(machine, keys):
                child = await supervisor.start(process)
                ready = machine.url(process.name) + process.ready_path
                if not await wait_ready(http, ready, child):
                    console.line("up", f"{process.name} did not become ready; stopping")
                    await supervisor.stop()
                    return 1
                if stop.is_set():
                    break
            else:
                await scenario.seed_catalog(http, _stack(machine, keys))
                _announce(console, machine, args.state_dir)
                stopped = asyncio.create_task(stop.wait())
                exited = asyncio.create_task(supervisor.exited.wait())
                await asyncio.wait({stopped, exited}, return_when=asyncio.FIRST_COMPLETED)
                for task in (stopped, exited):
                    task.cancel()
        crashed = not supervisor.running()
        console.line("up", "stopping")
        clean = await supervisor.stop()
        console.line("up", "stopped cleanly" if clean and not crashed else "stopped, not cleanly")
        return 0 if clean and not crashed else 1


def _stack(machine: Machine, keys: Secrets) -> Stack:
    return Stack(
        payments=machine.url("payments"),
        kinguin_gateway=machine.url("kinguin-gateway"),
        fulfillment=machine.url("fulfillment"),
        delivery=machine.url("delivery"),
        admin=machine.url("admin"),
        nowpayments_sandbox=machine.url("nowpayments-sandbox"),
        kinguin_sandbox=machine.url("kinguin-sandbox"),
        internal_token=keys.internal_token,
        admin_password=keys.admin_password,
        in_memory=False,
    )


def _announce(console: Console, machine: Machine, state_dir: Path) -> None:
    sku = scenario.CATALOG[0][0]
    for text in (
        "all processes ready; Ctrl-C stops everything",
        f"admin UI   {machine.url('admin')}/admin  (user {machine.admin_username}, "
        f"password: admin_password in {state_dir / 'secrets.json'})",
        f"place an order: curl -s -X POST {machine.url('payments')}/orders "
        f"-H 'content-type: application/json' "
        f"""-d '{{"email": "you@example.com", "lines": [{{"sku": "{sku}", "qty": 1}}]}}'""",
        f"the sandbox pays it at once; the delivery email lands in {state_dir / 'mail'}",
    ):
        console.line("up", text)


def main(argv: list[str] | None = None) -> None:
    # moto's S3 server logs every request through werkzeug.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    raise SystemExit(asyncio.run(up(parse_args(argv))))


if __name__ == "__main__":
    main()
