"""The chaos run's own servers: real PostgreSQL and RabbitMQ that it may crash, and
that come back with what they had committed or confirmed, as production servers do."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import asyncpg
import pytest

from chaos.servers import PrivatePostgres, PrivateRabbit


@pytest.fixture
def root(tmp_path: Path) -> Path:
    tmp_path.chmod(0o755)  # the servers run as their own users when the tests run as root
    for parent in tmp_path.parents:
        if parent == Path(parent.anchor):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    return tmp_path


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


async def test_postgres_keeps_committed_rows_across_a_crash(postgres: PrivatePostgres) -> None:
    connection = await asyncpg.connect(postgres.url)
    await connection.execute("CREATE TABLE orders (id int PRIMARY KEY)")
    await connection.execute("INSERT INTO orders VALUES (1), (2)")
    postgres.crash_restart()
    with pytest.raises((asyncpg.PostgresError, OSError, asyncpg.InterfaceError)):
        await connection.fetch("SELECT 1")  # the crash cut the old connection
    connection = await asyncpg.connect(postgres.url)
    try:
        assert [r["id"] for r in await connection.fetch("SELECT id FROM orders ORDER BY 1")] == [
            1,
            2,
        ]
    finally:
        await connection.close()


async def first_message(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractMessage | None:
    """The queue's first message; a quorum queue answers once its log is recovered,
    which after a SIGKILL may take a few seconds."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return await queue.get(timeout=5, fail=False)
        except TimeoutError:
            continue
    return None


@pytest.mark.slow
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
