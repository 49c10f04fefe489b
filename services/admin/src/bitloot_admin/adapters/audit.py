"""The audit of admin actions in `admin_audit`."""

from dataclasses import asdict

from pydantic import JsonValue
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_admin.adapters.orm import admin_audit
from bitloot_admin.domain.audit import AuditEntry, AuditRecord
from bitloot_admin.domain.retention import ACTION, ACTOR
from bitloot_admin.handlers.ports import AuditLog
from bitloot_runtime.retention import Swept


class SqlAuditLog(AuditLog):
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def add(self, entry: AuditEntry) -> None:
        # The entry's fields are the table's columns, by name.
        await self._db.execute(
            insert(admin_audit).values({**asdict(entry), "detail": entry.detail or {}})
        )

    async def recent(
        self, *, limit: int, before: int | None, username: str | None, action: str | None
    ) -> list[AuditRecord]:
        query = select(admin_audit).order_by(admin_audit.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(admin_audit.c.id < before)
        if username is not None:
            query = query.where(admin_audit.c.username == username)
        if action is not None:
            query = query.where(admin_audit.c.action == action)
        rows = await self._db.execute(query)
        return [
            AuditRecord(r.id, r.at, r.username, r.action, r.target, r.outcome, r.detail)
            for r in rows
        ]


async def record_swept(connection: AsyncConnection, swept: Swept) -> None:
    """Retention removed `swept` (an `Audit` of bitloot_runtime.retention): recorded in
    the transaction that removed it."""
    older_than = swept.cutoff.isoformat(timespec="seconds")
    detail: dict[str, JsonValue] = {
        "rule": swept.rule,
        "rows": swept.rows,
        "older_than": older_than,
    }
    await SqlAuditLog(connection).add(AuditEntry(ACTOR, ACTION, target=swept.table, detail=detail))
