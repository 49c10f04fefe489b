"""What the retention tests of every service share: the periods they age rows by, a
migrated database's engine (and the `engine` fixture over it), a sweep of given rules on
it, and the check that each batch starts from its index."""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_runtime.db import UnitOfWork, create_engine, migrate
from bitloot_runtime.retention import Audit, InboundLogRetention, RetentionSweep, SqlRule

DAY = timedelta(days=1)
# The inbound logs' periods (unauthenticated calls, authentic ones) in the tests.
SHORT, LONG = 30 * DAY, 400 * DAY
POLICY = InboundLogRetention.of_days(SHORT.days, LONG.days)


@asynccontextmanager
async def migrated(
    database_url: str, metadata: MetaData, versions: list[Path]
) -> AsyncIterator[AsyncEngine]:
    """An engine on `database_url`, migrated to the service's head."""
    await migrate(database_url, metadata, versions)
    engine = create_engine(database_url, max_connections=4)
    try:
        yield engine
    finally:
        await engine.dispose()


def engine_fixture(metadata: MetaData, versions: list[Path]) -> object:
    """The `engine` fixture of a service's retention tests (`engine = engine_fixture(…)` in
    the test module): an engine on a fresh database migrated to the service's head."""

    @pytest.fixture
    async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
        async with migrated(database_url, metadata, versions) as engine:
            yield engine

    return engine


def sweep_on(
    engine: AsyncEngine, rules: Sequence[SqlRule], audit: Audit, batch_size: int = 500
) -> RetentionSweep:
    return RetentionSweep(
        unit_of_work=lambda: UnitOfWork(engine),
        rules=rules,
        audit=audit,
        batch_size=batch_size,
    )


async def assert_batches_use(
    engine: AsyncEngine, rules: Sequence[SqlRule], index: Mapping[str, str]
) -> None:
    """With sequential scans priced out, each rule's batch plan scans no table and starts
    from `index[rule.table]` (a plan scanning a table, or a whole other index, would read
    every row)."""
    async with engine.begin() as connection:
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        for rule in rules:
            values = {"cutoff": datetime.now(UTC), "limit": 500}
            plan = await connection.scalars(text(f"EXPLAIN {rule.delete_statement()}"), values)
            lines = "\n".join(plan)
            assert "Seq Scan" not in lines, lines
            assert f" {index[rule.table]} " in lines, lines
