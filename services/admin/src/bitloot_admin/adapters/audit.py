"""The audit of admin actions: who did what to which target, when, and how it ended."""

from dataclasses import dataclass
from datetime import datetime

from pydantic import JsonValue
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bitloot_admin.adapters.orm import admin_audit
from bitloot_admin.domain.retention import ACTION, ACTOR
from bitloot_runtime.retention import Swept


@dataclass(frozen=True)
class AuditEntry:
    """One action: `outcome` is ``ok`` or a short reason it was refused or failed."""

    username: str
    action: str
    target: str | None = None
    outcome: str = "ok"
    detail: dict[str, JsonValue] | None = None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    username: str
    action: str
    target: str | None
    outcome: str
    detail: dict[str, JsonValue]


async def write(session: AsyncSession | AsyncConnection, entry: AuditEntry) -> None:
    """Record `entry` in the caller's transaction."""
    await session.execute(
        insert(admin_audit).values(
            username=entry.username,
            action=entry.action,
            target=entry.target,
            outcome=entry.outcome,
            detail=entry.detail or {},
        )
    )


async def record_swept(connection: AsyncConnection, swept: Swept) -> None:
    """Retention removed `swept` (an `Audit` of bitloot_runtime.retention): recorded in
    the transaction that removed it."""
    older_than = swept.cutoff.isoformat(timespec="seconds")
    detail: dict[str, JsonValue] = {
        "rule": swept.rule,
        "rows": swept.rows,
        "older_than": older_than,
    }
    entry = AuditEntry(ACTOR, ACTION, target=swept.table, detail=detail)
    await write(connection, entry)


async def record(sessionmaker: async_sessionmaker[AsyncSession], entry: AuditEntry) -> None:
    """Record `entry` in a transaction of its own."""
    async with sessionmaker() as session, session.begin():
        await write(session, entry)


async def recent(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    limit: int,
    before: int | None = None,
    username: str | None = None,
    action: str | None = None,
) -> list[AuditRecord]:
    """The newest records first, optionally older than id `before`, of one admin or action."""
    query = select(admin_audit).order_by(admin_audit.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(admin_audit.c.id < before)
    if username is not None:
        query = query.where(admin_audit.c.username == username)
    if action is not None:
        query = query.where(admin_audit.c.action == action)
    async with sessionmaker() as session:
        rows = await session.execute(query)
        return [
            AuditRecord(r.id, r.at, r.username, r.action, r.target, r.outcome, r.detail)
            for r in rows
        ]
