"""Databases are created when missing and migrated to the runtime tables, idempotently."""

import asyncio

import asyncpg
from runtime_support import metadata as widgets_metadata
from sqlalchemy import MetaData

from bitloot_runtime.db import asyncpg_dsn, ensure_database, migrate, schema_drift
from bitloot_runtime.tables import include_runtime_tables
from bitloot_testing.servers import PostgresServer


async def test_missing_database_is_created_and_migrated_by_concurrent_instances(
    postgres_server: PostgresServer, run_id: str
) -> None:
    url = f"postgresql+asyncpg://{postgres_server.url.split('://', 1)[1].rsplit('/', 1)[0]}"
    url = f"{url}/bitloot_created_{run_id}"
    metadata = MetaData()
    include_runtime_tables(metadata)
    try:
        await asyncio.gather(*(migrate(url, metadata, []) for _ in range(3)))
        await migrate(url, metadata, [])  # and again, on a database already at head
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            tables = {
                row["tablename"]
                for row in await connection.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
        finally:
            await connection.close()
        assert {"outbox", "inbox", "dead_letters", "alembic_version"} <= tables
    finally:
        admin = await asyncpg.connect(postgres_server.url)
        await admin.execute(f'DROP DATABASE IF EXISTS "bitloot_created_{run_id}" WITH (FORCE)')
        await admin.close()


async def test_migrations_match_the_runtime_table_definitions(database_url: str) -> None:
    await migrate(database_url, widgets_metadata, [])
    metadata = MetaData()
    include_runtime_tables(metadata)
    assert await schema_drift(database_url, metadata) == []


async def test_ensure_database_leaves_an_existing_database_alone(database_url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    await connection.execute("CREATE TABLE keep_me (id int)")
    await connection.close()
    await ensure_database(database_url)
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        assert await connection.fetchval("SELECT to_regclass('keep_me')::text") == "keep_me"
    finally:
        await connection.close()
