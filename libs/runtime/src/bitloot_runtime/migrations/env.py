"""Alembic environment shared by every service.

`bitloot_runtime.db.migrate` runs it with the service's metadata and URL in
``config.attributes``; an advisory lock keeps two instances starting at once from
migrating concurrently.
"""

import asyncio

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from bitloot_runtime.db import create_engine

MIGRATION_LOCK = 7_420_001


def _run(connection: Connection, metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_online(url: str, metadata: MetaData) -> None:
    # The runtime's engine, so a failing migration's error hides its parameters too.
    engine = create_engine(url, max_connections=2)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run, metadata)
    finally:
        await engine.dispose()


asyncio.run(_run_online(context.config.attributes["url"], context.config.attributes["metadata"]))
