"""A run's own servers: real PostgreSQL and a real three-node RabbitMQ cluster that it may
crash, and that come back with what they had committed or confirmed, as production
servers do."""

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest

from bitloot_testing.private_servers import (
    PrivatePostgres,
    PrivateRabbit,
    PrivateRabbitCluster,
    rabbitmq_installed,
)

needs_rabbitmq = pytest.mark.skipif(
    not rabbitmq_installed(), reason="rabbitmq-server is not installed on this machine"
)


@pytest.fixture
def root() -> Iterator[Path]:
    """A directory of the test's own outside pytest's temporary folders, which pytest
    prunes (any concurrent session's) while the servers may still use them."""
    with tempfile.TemporaryDirectory(prefix="bitloot-private-servers-") as made:
        path = Path(made)
        path.chmod(0o755)  # the servers run as their own users when the tests run as root
        yield path


@pytest.fixture
def postgres(root: Path) -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(root / "postgres")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rabbit(root: Path) -> Iterator[PrivateRabbit]:
    server = PrivateRabbit(root / "rabbitmq")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def cluster(root: Path) -> AsyncIterator[PrivateRabbitCluster]:
    async with PrivateRabbitCluster(root / "cluster", size=3, trace=True) as running:
        yield running


def on(postgres: PrivatePostgres, database: str) -> str:
    """The server's URL for `database`."""
    return f"{postgres.url.rsplit('/', 1)[0]}/{database}"


async def orders_table(postgres: PrivatePostgres) -> asyncpg.Connection:
    connection = await asyncpg.connect(postgres.url)
    await connection.execute("CREATE TABLE orders (id int PRIMARY KEY)")
    await connection.execute("INSERT INTO orders VALUES (1), (2)")
    return connection


async def order_ids(postgres: PrivatePostgres) -> list[int]:
    connection = await asyncpg.connect(postgres.url)
    try:
        return [r["id"] for r in await connection.fetch("SELECT id FROM orders ORDER BY 1")]
    finally:
        await connection.close()


async def test_postgres_keeps_committed_rows_across_a_crash(postgres: PrivatePostgres) -> None:
    connection = await orders_table(postgres)
    postgres.crash_restart()
    with pytest.raises((asyncpg.PostgresError, OSError, asyncpg.InterfaceError)):
        await connection.fetch("SELECT 1")  # the crash cut the old connection
    assert await order_ids(postgres) == [1, 2]


async def test_postgres_recovers_after_a_crash_during_recovery(postgres: PrivatePostgres) -> None:
    connection = await orders_table(postgres)
    await connection.close()
    recovery = postgres.crash_during_recovery()
    assert recovery.killed_while == "starting"  # killed before it accepted connections
    assert recovery.seconds < 60
    assert await order_ids(postgres) == [1, 2]
    log = (postgres.root / "postgres.log").read_text()
    # Two recoveries from the same crash: the one killed, and the one that finished.
    assert log.count("database system was interrupted") >= 2, log[-2000:]


async def test_terminate_backends_cuts_only_the_named_databases(postgres: PrivatePostgres) -> None:
    admin = await asyncpg.connect(postgres.url)
    await admin.execute("CREATE DATABASE svc_payments")
    await admin.execute("CREATE DATABASE other")
    inside = await asyncpg.connect(on(postgres, "svc_payments"))
    outside = await asyncpg.connect(on(postgres, "other"))
    try:
        assert postgres.terminate_backends("svc_") == 1
        with pytest.raises((asyncpg.PostgresError, OSError, asyncpg.InterfaceError)):
            await inside.fetch("SELECT 1")
        assert await outside.fetchval("SELECT 1") == 1
        assert await admin.fetchval("SELECT 1") == 1
    finally:
        await outside.close()
        await admin.close()


async def test_cancel_queries_cancels_a_running_statement(postgres: PrivatePostgres) -> None:
    admin = await asyncpg.connect(postgres.url)
    await admin.execute("CREATE DATABASE svc_delivery")
    await admin.close()
    client = await asyncpg.connect(on(postgres, "svc_delivery"))
    try:
        sleeping = asyncio.create_task(client.execute("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.5)
        assert await asyncio.to_thread(postgres.cancel_queries, "svc_") == 1
        with pytest.raises(asyncpg.QueryCanceledError):
            await asyncio.wait_for(sleeping, 10)
        assert await client.fetchval("SELECT 1") == 1  # cancelled, not disconnected
    finally:
        await client.close()


async def first_message(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractMessage | None:
    """The queue's first message; a quorum queue answers once its log is recovered (or
    a new leader elected), which after a SIGKILL may take a few seconds."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return await queue.get(timeout=5, fail=False)
        except TimeoutError:
            continue
    return None


@pytest.mark.slow
@needs_rabbitmq
async def test_rabbitmq_keeps_confirmed_messages_across_a_sigkill(rabbit: PrivateRabbit) -> None:
    connection = await aio_pika.connect(rabbit.url)
    channel = await connection.channel()  # publisher confirms are on by default
    queue = await channel.declare_queue(
        "orders", durable=True, arguments={"x-queue-type": "quorum"}
    )
    # RabbitMQ records a new quorum queue's existence on disk within seconds, not at once:
    # one declared just before a SIGKILL may be lost. The services' queues exist long
    # before the chaos run's crash; here too the queue is settled before the message is
    # published and confirmed, and then the node is killed at once.
    await asyncio.sleep(10)
    await channel.default_exchange.publish(aio_pika.Message(b"order 1"), routing_key=queue.name)
    await connection.close()
    rabbit.crash_restart()
    connection = await aio_pika.connect(rabbit.url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(
            "orders", durable=True, arguments={"x-queue-type": "quorum"}
        )
        message = await first_message(queue)
        assert message is not None
        assert message.body == b"order 1"
    finally:
        await connection.close()


def leader(cluster: PrivateRabbitCluster, queue: str) -> int:
    """The index of the node leading `queue`."""
    listed = cluster.ctl("list_queues", "-p", cluster.vhost, "name", "leader", "-q",
                         "--no-table-headers")  # fmt: skip
    for line in listed.splitlines():
        name, node = line.split("\t")
        if name == queue:
            return [n.node for n in cluster.nodes].index(node.strip())
    raise AssertionError(f"queue {queue} not listed: {listed}")


@pytest.mark.slow
@needs_rabbitmq
async def test_cluster_forms_with_three_running_nodes(cluster: PrivateRabbitCluster) -> None:
    status = cluster.ctl("cluster_status", "--formatter", "json")
    for node in cluster.nodes:
        assert node.node in status
    running = cluster.ctl("eval", "length(rabbit_nodes:all_running()).").strip()
    assert running == "3"
    assert cluster.accepting() == [True, True, True]
    assert cluster.url.endswith(f":{cluster.front.port}/bitloot")


@pytest.mark.slow
@needs_rabbitmq
async def test_a_quorum_message_survives_its_leader_killed(cluster: PrivateRabbitCluster) -> None:
    connection = await aio_pika.connect(cluster.url)  # through the front, on the vhost
    channel = await connection.channel()
    arguments: dict[str, Any] = {"x-queue-type": "quorum"}
    await channel.declare_queue("orders", durable=True, arguments=arguments)
    assert cluster.queues()["orders"] == ("quorum", 3)  # replicated on every node
    await channel.default_exchange.publish(aio_pika.Message(b"order 1"), routing_key="orders")
    await connection.close()
    killed = leader(cluster, "orders")
    cluster.kill_node(killed)
    assert not cluster.accepting()[killed]
    # Each new client is sent to a live node; several connections prove the dead one
    # is skipped, whatever the front's turn.
    for _ in range(len(cluster.nodes)):
        connection = await aio_pika.connect(cluster.url)
        await connection.close()
    connection = await aio_pika.connect(cluster.url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("orders", durable=True, arguments=arguments)
        message = await first_message(queue)
        assert message is not None
        assert message.body == b"order 1"
        assert isinstance(message, aio_pika.abc.AbstractIncomingMessage)
        await message.ack()
    finally:
        await connection.close()
    assert leader(cluster, "orders") != killed
    cluster.start_node(killed)  # it rejoins on its data
    assert cluster.accepting() == [True, True, True]


@pytest.mark.slow
@needs_rabbitmq
async def test_a_traced_cluster_traces_publishes_through_a_restarted_node(
    cluster: PrivateRabbitCluster,
) -> None:
    # `rabbitmqctl trace_on` would be gone after the restart; the node's own config
    # turns tracing on at its boot, so the firehose misses nothing it carries.
    cluster.crash_restart_node(2)
    connection = await aio_pika.connect(cluster.urls[2])  # that node itself
    try:
        channel = await connection.channel()
        traced = await channel.declare_queue(exclusive=True)
        await traced.bind("amq.rabbitmq.trace", routing_key="publish.#")
        await channel.default_exchange.publish(aio_pika.Message(b"seen?"), routing_key="nowhere")
        message = await first_message(traced)
        assert message is not None
        assert isinstance(message, aio_pika.abc.AbstractIncomingMessage)
        assert message.body == b"seen?"
        assert message.routing_key == "publish."  # the default exchange's name is ""
    finally:
        await connection.close()
