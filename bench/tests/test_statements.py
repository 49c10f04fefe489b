"""bench.statements counts what a service sends PostgreSQL: raw asyncpg and SQLAlchemy Core on
the asyncpg driver, in process; and a child run under it answers SIGUSR1 with its counts."""

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import statements

REPO = Path(__file__).parent.parent.parent


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def since(before: Counter[str]) -> dict[str, int]:
    return {name: n - before[name] for name, n in statements.counts.items() if n - before[name]}


async def test_raw_asyncpg_statements_are_counted_by_keyword(database_url: str) -> None:
    statements.install()
    connection = await asyncpg.connect(plain(database_url))
    try:
        before = Counter(statements.counts)
        await connection.execute("CREATE TABLE t (n int)")
        async with connection.transaction():
            await connection.execute("INSERT INTO t VALUES ($1)", 1)
            await connection.executemany("INSERT INTO t VALUES ($1)", [(2,), (3,), (4,)])
        await connection.fetch("SELECT n FROM t")
        await connection.fetchval("SELECT count(*) FROM t WHERE n > $1", 1)
        prepared = await connection.prepare("UPDATE t SET n = n + 1 WHERE n = $1")
        await prepared.fetchval(4)
        await prepared.executemany([(1,), (2,)])
        counted = since(before)
    finally:
        await connection.close()
    assert counted == {"CREATE": 1, "BEGIN": 1, "INSERT": 4, "COMMIT": 1, "SELECT": 2,
                       "UPDATE": 3}  # fmt: skip
    assert statements.split(counted) == (10, 2)


async def test_sqlalchemy_core_statements_are_counted(database_url: str) -> None:
    statements.install()
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as warm:  # the driver's own set-up queries
            await warm.execute(text("SELECT 1"))
        before = Counter(statements.counts)
        async with engine.connect() as connection, connection.begin():
            await connection.execute(text("SELECT 1"))
            await connection.execute(text("SELECT CAST(:n AS int)"), {"n": 2})
        counted = since(before)
    finally:
        await engine.dispose()
    assert counted == {"BEGIN": 1, "SELECT": 2, "COMMIT": 1}


async def test_a_child_under_uvloop_writes_its_counts_on_sigusr1(
    database_url: str, tmp_path: Path
) -> None:
    counts_file = tmp_path / "counts.json"
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.statements", "bench.tests.statements_child",
         plain(database_url)],
        cwd=REPO, stdout=subprocess.PIPE, env={**os.environ, statements.ENV: str(counts_file)},
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 30)
        assert line.strip() == b"ready"
        first = await statements.snapshot(child.pid, counts_file)
        second = await statements.snapshot(child.pid, counts_file)
    finally:
        child.kill()
        child.wait()
    assert first == second == {"SELECT": 2, "BEGIN": 1, "CREATE": 1, "COMMIT": 1}
    assert statements.read(counts_file)["sequence"] == 2


def test_keyword_is_the_first_word() -> None:
    assert statements.keyword("\n  select 1") == "SELECT"
    assert statements.keyword("COMMIT;") == "COMMIT"
    assert statements.keyword("WITH x AS (SELECT 1) SELECT * FROM x") == "WITH"
    assert statements.keyword("") == ""
