"""Fresh PostgreSQL databases for the tests, all dropped when the run ends, and how a
migrated one differs from the tables a service defines."""

import itertools
import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from bitloot_runtime.db import create_engine
from bitloot_testing.servers import (
    LOCAL_POSTGRES,
    POSTGRES_ENV,
    PostgresServer,
    postgres_container,
    resolve,
)

# PostgreSQL silently truncates identifiers to 63 bytes, which would leave the returned URL
# naming a database that does not exist; the rest of the name takes at most 25.
_MAX_HINT = 32


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of this run: BITLOOT_TEST_POSTGRES_URL, else a container where
    a Docker engine answers, else 127.0.0.1:5432."""
    with resolve(POSTGRES_ENV, LOCAL_POSTGRES, 5432, postgres_container) as url:
        yield PostgresServer(url)


def database_name(hint: str, run_id: str, number: int) -> str:
    """``bitloot_<hint>_<run_id>_<number>``, the hint cut down to a short, plain identifier."""
    plain = re.sub(r"[^a-z0-9_]+", "_", hint.lower())[:_MAX_HINT]
    return f"bitloot_{plain}_{run_id}_{number}"


def async_url(admin_url: str, database: str) -> str:
    """The SQLAlchemy asyncpg URL of `database` on the server of `admin_url`."""
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", path=f"/{database}"))


class DatabaseFactory:
    """``await factory("payments")`` creates an empty database of this run and returns its
    SQLAlchemy async URL; `drop_all` drops every database it created."""

    def __init__(self, admin_url: str, run_id: str) -> None:
        self.admin_url = admin_url
        self.run_id = run_id
        self.created: list[str] = []
        self._numbers = itertools.count(1)

    async def __call__(self, hint: str) -> str:
        name = database_name(hint, self.run_id, next(self._numbers))
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.created.append(name)
        return async_url(self.admin_url, name)

    async def drop_all(self) -> None:
        """Drop every database this factory created, even with sessions still open on it."""
        admin = await asyncpg.connect(self.admin_url)
        try:
            for name in self.created:
                # FORCE: a test that leaked an engine must not keep its database alive.
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        self.created.clear()


@pytest.fixture(scope="session")
async def database_factory(
    postgres_server: PostgresServer, run_id: str
) -> AsyncIterator[DatabaseFactory]:
    """Creates fresh databases of this run (see `DatabaseFactory`), dropped at session end."""
    factory = DatabaseFactory(postgres_server.url, run_id)
    try:
        yield factory
    finally:
        await factory.drop_all()


@pytest.fixture
async def database_url(database_factory: DatabaseFactory) -> str:
    """A fresh, empty database for one test: its ``postgresql+asyncpg://`` URL."""
    return await database_factory("test")


async def schema_drift(url: str, metadata: MetaData) -> list[object]:
    """How the database at `url` differs from `metadata` (empty when migrations and
    table definitions agree); Alembic's autogenerate comparison."""
    engine = create_engine(url, max_connections=2)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
