"""How the repositories reach the database: plain SQL on the unit of work's asyncpg
connection for the per-order statements, SQLAlchemy for the admin's dynamic queries.

A repository is built on a `UnitOfWork` (the handlers) or on a SQLAlchemy connection or
session (tests, scripts). Either way its plain SQL runs on the same connection, inside the
same transaction, as anything done through SQLAlchemy: asyncpg prepares each text once per
connection, so a statement costs a fraction of a SQLAlchemy execute (bench/micro_uow.py).
"""

from typing import Any

import asyncpg
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bitloot_runtime.db import UnitOfWork, driver_of

Source = UnitOfWork | AsyncConnection | AsyncSession


class SqlRepository:
    """A repository's two ways into one transaction: `_session` and `_driver()`."""

    def __init__(self, source: Source) -> None:
        self._uow = source if isinstance(source, UnitOfWork) else None
        self._session: AsyncConnection | AsyncSession = (
            source.session if isinstance(source, UnitOfWork) else source
        )
        self._asyncpg: asyncpg.Connection[Any] | None = None

    async def _driver(self) -> "asyncpg.Connection[Any]":
        """The asyncpg connection, inside the transaction (begun now if need be)."""
        if self._uow is not None:
            return await self._uow.driver()
        if self._asyncpg is None:
            self._asyncpg = await driver_of(self._session)
        return self._asyncpg

    async def _execute(self, sql: str, *args: object) -> None:
        await (await self._driver()).execute(sql, *args)

    async def _fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await (await self._driver()).fetch(sql, *args)
        return rows

    async def _fetchrow(self, sql: str, *args: object) -> asyncpg.Record | None:
        return await (await self._driver()).fetchrow(sql, *args)

    async def _fetchval(self, sql: str, *args: object) -> Any:
        return await (await self._driver()).fetchval(sql, *args)


def where_given(query: Select[Any], *matching: tuple[ColumnElement[Any], object]) -> Select[Any]:
    """`query` narrowed to rows whose column equals each value given (None: any)."""
    for column, value in matching:
        if value is not None:
            query = query.where(column == value)
    return query
