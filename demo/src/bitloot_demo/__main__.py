"""`make demo` / `python -m bitloot_demo`: BitLoot end to end in one process.

Starts embedded PostgreSQL (or uses `DATABASE_URL`), moto's S3, aiosmtpd, both provider
sandboxes and the five services on FastStream's in-memory broker (or on `AMQP_URL`);
places and pays `--orders` orders, waits for each to be fulfilled, prints a summary, then
serves both sides on `--port` until interrupted (unless `--no-serve`): the admin UI, and
what a customer opens (order pages, checkout, reveal pages, the live status socket;
`bitloot_launch.front`), with the admin login, the first order's page and its reveal
link printed to act on.
"""

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
from contextlib import ExitStack, nullcontext

from bitloot_demo import scenario
from bitloot_demo.up import link_in
from bitloot_launch import infra
from bitloot_launch.catalog import order_page
from bitloot_launch.inprocess import ADMIN_USER, Stack, running_stack
from bitloot_runtime.logging import configure_logging
from bitloot_testing.net import free_port
from bitloot_testing.servers import embedded_postgres


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bitloot-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20, help="orders to place (default 20)")
    parser.add_argument("--no-serve", action="store_true", help="exit after the summary")
    parser.add_argument(
        "--port", type=int, default=8000, help="admin UI and customer pages (default 8000)"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for orders")
    args = parser.parse_args(argv)
    if args.orders < 1:
        parser.error(f"--orders must be at least 1, not {args.orders}")
    return args


async def demo(args: argparse.Namespace) -> int:
    run_id = "demo" + secrets.token_hex(3)
    external_db = os.environ.get("DATABASE_URL")
    with ExitStack() as servers:
        print("demo: starting PostgreSQL, S3, SMTP and the provider sandboxes", file=sys.stderr)
        postgres_url = servers.enter_context(
            nullcontext(external_db) if external_db else embedded_postgres()
        )
        s3_endpoint = servers.enter_context(infra.s3_server())
        later = LaterLinks()
        mailbox = servers.enter_context(infra.smtp_server(on_mail=later.announce))
        async with running_stack(
            postgres_url=postgres_url,
            s3_endpoint=s3_endpoint,
            mailbox=mailbox,
            admin_port=free_port(),
            run_id=run_id,
            public_port=args.port,
        ) as stack:
            bus = "in-memory broker" if stack.in_memory else "RabbitMQ"
            print(f"demo: five services up on the {bus}", file=sys.stderr)
            outcome = await scenario.run(stack, mailbox, args.orders, args.timeout)
            if outcome.revealed_ok is not None:
                verdict = "matches" if outcome.revealed_ok else "DOES NOT match"
                print(f"demo: the first order's link reveals a key that {verdict} Kinguin's")
            print(outcome.summary(), flush=True)
            if not args.no_serve:
                print("\n".join(serving(stack, outcome)), flush=True)
                later.serving = True
                await _until_interrupted()
        succeeded = outcome.count("fulfilled") == outcome.placed and outcome.revealed_ok
        return 0 if succeeded else 1


class LaterLinks:
    """Once the demo serves, each key email's reveal link is printed, decoded, as it
    arrives (an admin's resend or fresh link, a customer's new link): the mailbox is in
    this process, so the terminal is where a demo's customer reads their email."""

    def __init__(self) -> None:
        self.serving = False

    def announce(self, mail: infra.Mail) -> None:
        if self.serving and mail.is_key_email and (link := link_in(mail)):
            print(f"demo: key email to {', '.join(mail.recipients)}: {link}", flush=True)


def serving(stack: Stack, outcome: scenario.Outcome) -> list[str]:
    """What to open, as the admin and as the first order's customer: the lines printed
    once the orders have run (the password only to this terminal, never to a log)."""
    lines = [
        f"demo: admin UI        {stack.public}/admin",
        f"demo: admin login     user {ADMIN_USER}  password {stack.admin_password}",
        f"demo: admin 2FA       TOTP secret {stack.admin_totp_secret} (add it to an "
        "authenticator app; the login asks for its code)",
    ]
    if outcome.first_order is not None:
        lines.append(f"demo: first order     {order_page(stack.public, outcome.first_order)}")
    if outcome.reveal_link:
        lines.append(f"demo: its keys        {outcome.reveal_link}")
    lines.append(f"demo: serving both on {stack.public}; Ctrl-C to stop")
    return lines


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("demo", "WARNING")
    # moto's S3 server logs every request through werkzeug.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    raise SystemExit(asyncio.run(demo(args)))


if __name__ == "__main__":
    main()
