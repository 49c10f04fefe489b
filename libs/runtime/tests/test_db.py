"""Databases are created when missing and migrated to the runtime tables, idempotently."""

import asyncio
import logging

import asyncpg
import pytest
from runtime_support import metadata as widgets_metadata
from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError

from bitloot_runtime.db import asyncpg_dsn, create_engine, ensure_database, migrate
from bitloot_runtime.tables import include_runtime_tables
from bitloot_testing.postgres import schema_drift
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


async def test_a_failing_statement_neither_says_nor_logs_its_parameters(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An IPN body or a customer's email bound to a statement that fails must not reach
    the error's message, nor the traceback logged from it."""
    email = "alice.hidden@example.com"
    statement = text("SELECT CAST(:email AS text), 1 / 0")
    engine = create_engine(database_url, max_connections=2)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as failure:
                await connection.execute(statement, {"email": email})
    finally:
        await engine.dispose()
    logging.getLogger(__name__).error("statement failed", exc_info=failure.value)
    assert "division by zero" in str(failure.value)
    assert email not in str(failure.value)
    assert "statement failed" in caplog.text
    assert email not in caplog.text
