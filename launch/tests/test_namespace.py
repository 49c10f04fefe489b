"""A run's namespace removes what the run made on the shared servers, and nothing else."""

import aio_pika
import asyncpg

from bitloot_launch.namespace import Namespace
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.servers import PostgresServer


async def _databases(url: str, pattern: str) -> set[str]:
    admin = await asyncpg.connect(url)
    try:
        rows = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", pattern)
        return {row["datname"] for row in rows}
    finally:
        await admin.close()


async def test_cleanup_drops_the_runs_databases_and_deletes_its_exchanges(
    postgres_server: PostgresServer, bus_prefix: BusNamespace
) -> None:
    run = Namespace.fresh("t", postgres_server.url, bus_prefix.amqp_url)
    neighbour = Namespace.fresh("t", postgres_server.url, bus_prefix.amqp_url)
    admin = await asyncpg.connect(postgres_server.url)
    try:
        for namespace in (run, neighbour):
            await admin.execute(f'CREATE DATABASE "{namespace.database("payments")}"')
        await admin.execute(f'CREATE DATABASE "{run.database("baseline")}"')
    finally:
        await admin.close()
    exchange = run.bus().exchanges.pop()
    connection = await aio_pika.connect(run.amqp_url)
    try:
        channel = await connection.channel()
        await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC)
        await run.cleanup(extra_databases=["baseline"])
        assert await _databases(postgres_server.url, run.database_prefix + "%") == set()
        assert await _databases(postgres_server.url, neighbour.database_prefix + "%") == {
            neighbour.database("payments")
        }
        checking = await connection.channel()
        try:
            await checking.declare_exchange(exchange, passive=True)
            raise AssertionError(f"{exchange} was not deleted")
        except aio_pika.exceptions.ChannelClosed:
            pass
    finally:
        await connection.close()
        await neighbour.cleanup()
