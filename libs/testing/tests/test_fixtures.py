"""The shared fixtures against the real servers they stand for."""

import smtplib
from email.message import EmailMessage

import aio_pika
import asyncpg
import pytest

from bitloot_testing.postgres import DatabaseFactory, drop_databases
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.s3 import S3Server
from bitloot_testing.servers import PostgresServer
from bitloot_testing.smtp import SmtpServer


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def test_database_factory_creates_isolated_databases_and_drops_them(
    database_factory: DatabaseFactory, postgres_server: PostgresServer
) -> None:
    first, second = await database_factory("iso"), await database_factory("iso")
    assert first != second
    connection = await asyncpg.connect(plain(first))
    await connection.execute("CREATE TABLE only_here (id int)")
    await connection.close()
    connection = await asyncpg.connect(plain(second))
    assert await connection.fetchval("SELECT to_regclass('only_here')") is None
    await connection.close()

    names = [url.rsplit("/", 1)[1] for url in (first, second)]
    await drop_databases(postgres_server.url, names)
    admin = await asyncpg.connect(postgres_server.url)
    try:
        left = await admin.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = ANY($1::text[])", names
        )
    finally:
        await admin.close()
    assert left == 0


async def test_bus_namespace_deletes_its_queues_and_exchanges(bus_prefix: BusNamespace) -> None:
    namespace = BusNamespace(bus_prefix.prefix + "inner.", bus_prefix.amqp_url)
    connection = await aio_pika.connect(namespace.amqp_url)
    channel = await connection.channel()
    await channel.declare_exchange(f"{namespace.prefix}ex", durable=True)
    await channel.declare_queue(f"{namespace.prefix}q", durable=True)
    namespace.track_queue(f"{namespace.prefix}q")
    namespace.track_exchange(f"{namespace.prefix}ex")
    namespace.track_queue(f"{namespace.prefix}never-declared")
    await namespace.delete_all()
    with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity):
        await (await connection.channel()).declare_queue(f"{namespace.prefix}q", passive=True)
    with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity):
        await (await connection.channel()).get_exchange(f"{namespace.prefix}ex", ensure=True)
    await connection.close()


def test_bus_namespace_refuses_a_name_outside_its_prefix(bus_prefix: BusNamespace) -> None:
    with pytest.raises(ValueError, match="lacks this test's prefix"):
        bus_prefix.track_queue("bitloot.events")


async def test_s3_server_stores_and_returns_an_object(s3_server: S3Server, s3_bucket: str) -> None:
    async with s3_server.session().client("s3", endpoint_url=s3_server.endpoint_url) as s3:
        await s3.put_object(Bucket=s3_bucket, Key="orders/1", Body=b"ciphertext")
        stored = await s3.get_object(Bucket=s3_bucket, Key="orders/1")
        assert await stored["Body"].read() == b"ciphertext"


async def test_smtp_server_receives_a_message_sent_with_smtplib(smtp_inbox: SmtpServer) -> None:
    message = EmailMessage()
    message["From"] = "shop@bitloot.test"
    message["To"] = "buyer@example.test"
    message["Subject"] = "Your key is ready"
    message.set_content("Open your link.")
    with smtplib.SMTP(smtp_inbox.host, smtp_inbox.port) as client:
        client.send_message(message)
    [received] = await smtp_inbox.wait_for(1, timeout=5)
    assert received.recipients == ("buyer@example.test",)
    assert received.message["Subject"] == "Your key is ready"


async def test_waiting_for_mail_that_never_comes_says_how_many_arrived(
    smtp_inbox: SmtpServer,
) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 emails"):
        await smtp_inbox.wait_for(1, timeout=0.2)
