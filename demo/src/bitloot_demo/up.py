"""`make up` / `python -m bitloot_demo.up`: the production topology on this machine.

Every service runs as its own process against the local RabbitMQ and PostgreSQL, with
moto's S3 server and an SMTP server (aiosmtpd, which saves each message under
`<state>/mail/`) in this process, and both provider sandboxes as processes. Every output
line is prefixed with its process's name, and also written to `<state>/logs/<name>.log`.
A process that exits unexpectedly (a crash, `kill -9`) is started again after a back-off,
as compose's `restart: always` or Kubernetes would (`bitloot_launch.supervisor`);
`--instances payments=2` runs replicas behind a balancer on the public port.
Ctrl-C (or SIGTERM) stops the services, then
the sandboxes, each with SIGTERM so in-flight messages finish or return to their queues;
one that has not stopped after `--stop-timeout` seconds is killed, and the exit status
says so (0: everything stopped cleanly).

The secrets are generated on first start and kept in `<state>/secrets.json` (mode 0600),
so that a restart can still decrypt what the databases hold; delete the state directory
and the `bitloot_*` databases to start afresh.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Coroutine
from contextlib import ExitStack
from pathlib import Path

import httpx

from bitloot_launch import infra
from bitloot_launch.catalog import CATALOG, LINK, seed_catalog
from bitloot_launch.inprocess import stack_of
from bitloot_launch.supervisor import Console, StartFailed, Supervisor
from bitloot_launch.wiring import NAMES, Machine, Secrets, processes


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
    parser.add_argument(
        "--instances",
        action="append",
        default=[],
        metavar="NAME=N[,NAME=N]",
        help="run N instances of process NAME behind a balancer (repeatable)",
    )
    return parser.parse_args(argv)


def instance_counts(pairs: list[str]) -> dict[str, int]:
    """``["payments=2,delivery=3"]`` → ``{"payments": 2, "delivery": 3}``; a name not in
    the table is refused."""
    counts: dict[str, int] = {}
    for pair in filter(None, ",".join(pairs).split(",")):
        name, _, count = pair.partition("=")
        if name not in NAMES or not count.isdigit() or int(count) < 1:
            raise SystemExit(f"--instances {pair!r}: expected NAME=N with NAME one of {NAMES}")
        counts[name] = int(count)
    return counts


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
        instances=instance_counts(args.instances),
    )


def mail_saver(console: Console, directory: Path) -> infra.MailHandler:
    """Save each message as an .eml file; for an email with a link to the keys, also
    print the link decoded (in the file it is quoted-printable, folded over lines that
    break a copy and paste)."""
    directory.mkdir(parents=True, exist_ok=True)

    def save(mail: infra.Mail) -> None:
        path = (
            directory / f"{time.strftime('%Y%m%d-%H%M%S')}-{len(list(directory.iterdir())):04d}.eml"
        )
        path.write_bytes(bytes(mail.message))
        console.line("smtp", f"mail to {', '.join(mail.recipients)} saved in {path}")
        if mail.is_key_email and (link := link_in(mail)):
            console.line("smtp", f"reveal link for {', '.join(mail.recipients)}: {link}")

    return save


def link_in(mail: infra.Mail) -> str | None:
    """The reveal link in an email's plain-text part, decoded; None if it has none."""
    body = mail.message.get_body(preferencelist=("plain",))
    found = LINK.search(body.get_content()) if body is not None else None
    return found.group(0) if found else None


async def up(args: argparse.Namespace) -> int:
    console = Console(width=max(map(len, NAMES)) + 1)
    keys = Secrets.load_or_create(args.state_dir / "secrets.json")
    with ExitStack() as servers:
        s3_endpoint = servers.enter_context(infra.s3_server(args.port_base + 20))
        mailbox = servers.enter_context(
            infra.smtp_server(args.port_base + 25, mail_saver(console, args.state_dir / "mail"))
        )
        machine = machine_for(args, s3_endpoint, mailbox)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        supervisor = Supervisor(
            processes(machine, keys),
            args.state_dir / "logs",
            console=console,
            stop_timeout=args.stop_timeout,
        )
        failed = False
        try:
            started = await _unless_stopped(supervisor.start(), stop)
        except StartFailed as failure:
            console.line("up", f"{failure}; stopping")
            started, failed = False, True
        if started:
            async with httpx.AsyncClient() as http:
                await seed_catalog(http, stack_of(machine, keys, in_memory=False))
            _announce(console, machine, keys.admin_password, keys.admin_totp_secret)
            await stop.wait()
        console.line("up", "stopping")
        clean = await supervisor.stop() and not failed
        console.line("up", "stopped cleanly" if clean else "stopped, not cleanly")
        return 0 if clean else 1


async def _unless_stopped(work: Coroutine[None, None, None], stop: asyncio.Event) -> bool:
    """Run `work` unless `stop` is set first (then cancel it); True if it completed."""
    task = asyncio.create_task(work)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False
    task.result()
    return True


def _announce(console: Console, machine: Machine, admin_password: str, totp: str) -> None:
    """What to open and how to log in: a local stack's generated first admin, printed to
    the terminal that started it (never to a log file)."""
    sku = CATALOG[0][0]
    for text in (
        "all processes ready; Ctrl-C stops everything",
        f"admin UI   {machine.url('admin')}/admin",
        f"admin login  user {machine.admin_username}  password {admin_password}",
        f"admin 2FA    TOTP secret {totp} (add it to an authenticator app; the login asks "
        "for its code)",
        f"place an order: curl -s -X POST {machine.url('payments')}/orders "
        f"-H 'content-type: application/json' "
        f"""-d '{{"email": "you@example.com", "lines": [{{"sku": "{sku}", "qty": 1}}]}}'""",
        "the sandbox pays it at once; each key email's reveal link is printed here",
    ):
        console.line("up", text)


def main(argv: list[str] | None = None) -> None:
    # moto's S3 server logs every request through werkzeug.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    raise SystemExit(asyncio.run(up(parse_args(argv))))


if __name__ == "__main__":
    main()
