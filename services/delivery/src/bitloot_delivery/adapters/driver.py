"""The asyncpg connection under a unit of work's SQLAlchemy connection, for the per-order
statements written as plain SQL (prepared once per connection by asyncpg, never compiled
by SQLAlchemy).

The adapters are handed `uow.session`; `driver_of(session)` is `UnitOfWork.driver()`
reached from it: the same connection, inside the same transaction (begun now on the
driver if no statement has begun it yet, exactly as `driver()` does), so statements of
both kinds commit or roll back together. A connection found dead when the transaction
begins is invalidated, as SQLAlchemy does when one of its own statements finds it so.
"""

from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection


async def driver_of(session: AsyncConnection) -> "asyncpg.Connection[Any]":
    """The asyncpg connection of `session`, inside its transaction."""
    raw = await session.get_raw_connection()
    adapter: Any = raw.dbapi_connection
    driver: asyncpg.Connection[Any] = raw.driver_connection
    if adapter._transaction is None:
        try:
            await adapter._start_transaction()
        except Exception:
            # A connection that died in the pool fails here, outside SQLAlchemy's
            # execution (which would notice the disconnect): discard it, or every unit
            # of work given it next would fail the same way.
            if driver.is_closed():
                await session.invalidate()
            raise
    return driver


def updated(status: str) -> bool:
    """Whether an UPDATE's status (``UPDATE <n>``) says it changed a row."""
    return status.rpartition(" ")[2] != "0"
