"""Fixtures of the end-to-end tests: the five services running for real."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from browser import browser  # noqa: F401  (the browser tests' fixture)
from five_processes import Servers

from bitloot_contracts.topics import SUBSCRIPTIONS
from bitloot_launch import infra
from bitloot_launch.inprocess import Stack, running_stack
from bitloot_testing.net import free_port
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.s3 import S3Server
from bitloot_testing.servers import PostgresServer
from bitloot_testing.smtp import SmtpServer

SHORT_DELAYS = (0.2, 0.2)


@pytest.fixture
def mailbox() -> Iterator[infra.Mailbox]:
    """The SMTP server the `stack` sends its emails to, and what it received."""
    with infra.smtp_server() as received:
        yield received


@pytest.fixture
async def stack(
    postgres_server: PostgresServer,
    s3_server: S3Server,
    bus_prefix: BusNamespace,
    run_id: str,
    monkeypatch: pytest.MonkeyPatch,
    mailbox: infra.Mailbox,
) -> AsyncIterator[Stack]:
    """The five services on the test's own bus namespace; fulfillment retries quickly, so
    a message it cannot handle is parked within a second."""
    monkeypatch.setenv("AMQP_URL", bus_prefix.amqp_url)
    monkeypatch.setenv("FULFILLMENT_RETRY_DELAYS", ",".join(map(str, SHORT_DELAYS)))
    bus_prefix.track_services(SUBSCRIPTIONS)
    bus_prefix.track_services(["fulfillment"], SHORT_DELAYS)
    stack_id = f"{run_id}ui{uuid.uuid4().hex[:6]}"
    async with running_stack(
        postgres_url=postgres_server.url,
        s3_endpoint=s3_server.endpoint_url,
        mailbox=mailbox,
        admin_port=free_port(),
        run_id=stack_id,
        bus_prefix=bus_prefix.prefix,
    ) as running:
        yield running
    await _drop_databases(postgres_server.url, stack_id)


async def _drop_databases(url: str, stack_id: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        names = await connection.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", f"bitloot_%_{stack_id}"
        )
        for row in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture
def servers(
    tmp_path: Path,
    database_factory: Callable[[str], Awaitable[str]],
    bus_prefix: BusNamespace,
    s3_server: S3Server,
    s3_bucket: str,
    smtp_inbox: SmtpServer,
) -> Servers:
    """Where a test starts the five services and both sandboxes (`servers.start()`)."""
    return Servers(tmp_path, database_factory, bus_prefix, s3_server, s3_bucket, smtp_inbox)
