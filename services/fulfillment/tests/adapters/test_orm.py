from bitloot_fulfillment.adapters.orm import metadata
from bitloot_fulfillment.migrations import VERSIONS
from bitloot_runtime.db import migrate
from bitloot_testing.postgres import schema_drift


async def test_migrations_create_exactly_the_tables_the_service_defines(database_url: str) -> None:
    await migrate(database_url, metadata, [VERSIONS])
    assert await schema_drift(database_url, metadata) == []
