"""Fresh PostgreSQL databases per test, dropped when the run ends."""

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import pytest

from bitloot_testing.servers import (
    LOCAL_POSTGRES,
    POSTGRES_ENV,
    PostgresServer,
    postgres_container,
    resolve,
)

DatabaseFactory = Callable[[str], Awaitable[str]]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of this test run."""
    with resolve(POSTGRES_ENV, LOCAL_POSTGRES, 5432, postgres_container) as url:
        yield PostgresServer(url)


def async_url(admin_url: str, database: str) -> str:
    """The SQLAlchemy asyncpg URL of `database` on the server of `admin_url`."""
    rest = admin_url.split("://", 1)[1]
    server = rest.rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{server}/{database}"


@pytest.fixture(scope="session")
async def database_factory(
    postgres_server: PostgresServer, run_id: str
) -> AsyncIterator[DatabaseFactory]:
    """`await create("payments")` makes an empty database of this run and returns its
    URL; every database it made is dropped at the end of the run."""
    created: list[str] = []
    counter = itertools.count(1)

    async def create(hint: str) -> str:
        name = f"bitloot_{hint}_{run_id}_{next(counter)}"
        admin = await asyncpg.connect(postgres_server.url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        created.append(name)
        return async_url(postgres_server.url, name)

    yield create
    await drop_databases(postgres_server.url, created)


async def drop_databases(admin_url: str, names: list[str]) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(database_factory: DatabaseFactory) -> str:
    """A fresh, empty database for one test."""
    return await database_factory("test")
