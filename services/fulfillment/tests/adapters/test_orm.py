from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bitloot_fulfillment.adapters.orm import metadata
from bitloot_fulfillment.migrations import VERSIONS
from bitloot_runtime.db import create_engine, migrate


async def test_migrations_create_exactly_the_tables_the_service_defines(database_url: str) -> None:
    await migrate(database_url, metadata, [VERSIONS])
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []
