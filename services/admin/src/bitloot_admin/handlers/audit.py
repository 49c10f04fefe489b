"""The audit of admin actions: recording one in a transaction of its own, and reading
the newest."""

from collections.abc import Callable

from bitloot_admin.domain.audit import AuditEntry, AuditRecord
from bitloot_admin.handlers.ports import AdminWork, UsesWork


async def record(work: Callable[[], AdminWork], entry: AuditEntry) -> None:
    """Record `entry` in a transaction of its own (an action another service did)."""
    async with work() as uow:
        await uow.audit.add(entry)
        await uow.commit()


class ReadAudit(UsesWork):
    """The newest records first, optionally older than id `before`, of one admin or action."""

    async def __call__(
        self,
        *,
        limit: int,
        before: int | None = None,
        username: str | None = None,
        action: str | None = None,
    ) -> list[AuditRecord]:
        async with self._work() as uow:
            return await uow.audit.recent(
                limit=limit, before=before, username=username, action=action
            )
