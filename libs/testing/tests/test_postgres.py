"""Fresh databases on the real PostgreSQL server, and their cleanup."""

import asyncpg
import pytest

from bitloot_testing.postgres import DatabaseFactory
from bitloot_testing.servers import PostgresServer


def plain(url: str) -> str:
    """asyncpg's own DSN for a SQLAlchemy asyncpg URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def existing(admin_url: str, names: list[str]) -> list[str]:
    admin = await asyncpg.connect(admin_url)
    try:
        rows = await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname = ANY($1::text[])", names
        )
    finally:
        await admin.close()
    return sorted(row["datname"] for row in rows)


async def test_database_factory_creates_isolated_databases_and_drops_them(
    postgres_server: PostgresServer, run_id: str
) -> None:
    # A factory of its own, so that its cleanup can be run and checked here.
    factory = DatabaseFactory(postgres_server.url, run_id)
    try:
        first, second = await factory("isolation"), await factory("isolation")
        assert first.startswith("postgresql+asyncpg://")
        assert first.endswith(f"/bitloot_isolation_{run_id}_1")
        assert second.endswith(f"/bitloot_isolation_{run_id}_2")
        connection = await asyncpg.connect(plain(first))
        await connection.execute("CREATE TABLE only_here (id int)")
        await connection.close()
        connection = await asyncpg.connect(plain(second))
        # Left open on purpose: the drop must not wait for, or fail on, a live session.
        assert await connection.fetchval("SELECT to_regclass('only_here')") is None

        names = [url.rsplit("/", 1)[1] for url in (first, second)]
        assert await existing(postgres_server.url, names) == sorted(names)
        await factory.drop_all()
        assert await existing(postgres_server.url, names) == []
        with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresError, ConnectionError)):
            await connection.fetchval("SELECT 1")
    finally:
        await factory.drop_all()  # a no-op once dropped; cleans up after a failed assertion


async def test_database_url_is_an_empty_database_of_this_run(
    database_url: str, run_id: str
) -> None:
    connection = await asyncpg.connect(plain(database_url))
    try:
        name = await connection.fetchval("SELECT current_database()")
        tables = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
    finally:
        await connection.close()
    assert name.startswith("bitloot_test_")
    assert run_id in name
    assert tables == 0


async def test_a_long_or_odd_hint_still_names_a_usable_database(
    database_factory: DatabaseFactory, run_id: str
) -> None:
    url = await database_factory("Kinguin-Gateway: webhooks " * 5)
    connection = await asyncpg.connect(plain(url))
    try:
        name = await connection.fetchval("SELECT current_database()")
    finally:
        await connection.close()
    assert url.endswith(f"/{name}")
    assert name.startswith("bitloot_kinguin_gateway_webhooks_")
    assert len(name) <= 63
