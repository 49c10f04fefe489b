"""`is_transient` tells the database failing for a moment from the work being wrong, on
errors raised by a real PostgreSQL through SQLAlchemy."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bitloot_runtime.db import create_engine, is_transient
from bitloot_runtime.errors import PermanentError, TransientError


@pytest.fixture
async def engine(database_url: str) -> AsyncEngine:
    created = create_engine(database_url, max_connections=6)
    async with created.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id int PRIMARY KEY, v int)"))
        await connection.execute(text("INSERT INTO t VALUES (1, 0), (2, 0)"))
    return created


async def failure(statement: str, engine: AsyncEngine) -> Exception:
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as caught:
            await connection.execute(text(statement))
    return caught.value


async def test_a_cancelled_statement_is_transient(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SET statement_timeout = 50"))
        with pytest.raises(DBAPIError, match="statement timeout") as caught:
            await connection.execute(text("SELECT pg_sleep(5)"))
    assert is_transient(caught.value)
    await engine.dispose()


async def test_a_killed_connection_is_transient(engine: AsyncEngine) -> None:
    async with engine.connect() as victim, engine.connect() as killer:
        pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as caught:
            await victim.execute(text("SELECT 1"))
    assert is_transient(caught.value)
    await engine.dispose()


async def _update_both(connection: AsyncConnection, first: int, second: int) -> None:
    await connection.execute(text("UPDATE t SET v = v + 1 WHERE id = :id"), {"id": first})
    await asyncio.sleep(0.2)
    await connection.execute(text("UPDATE t SET v = v + 1 WHERE id = :id"), {"id": second})


async def test_a_deadlock_is_transient(engine: AsyncEngine) -> None:
    async with engine.connect() as one, engine.connect() as two:
        await one.begin()
        await two.begin()
        outcomes = await asyncio.gather(
            _update_both(one, 1, 2), _update_both(two, 2, 1), return_exceptions=True
        )
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(errors) == 1
    assert "deadlock" in str(errors[0])
    assert is_transient(errors[0])
    await engine.dispose()


async def test_bad_sql_and_broken_constraints_are_not_transient(engine: AsyncEngine) -> None:
    for statement in ("SELEC 1", "INSERT INTO t VALUES (1, 0)", "SELECT 1 / 0"):
        assert not is_transient(await failure(statement, engine)), statement
    await engine.dispose()


def test_our_own_errors_say_what_they_are() -> None:
    assert is_transient(TransientError("Kinguin answered 503"))
    assert is_transient(ConnectionRefusedError())
    assert not is_transient(PermanentError("unknown_order", "no such order"))
    assert not is_transient(ValueError("bad"))
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = TimeoutError()
    assert is_transient(wrapped)
