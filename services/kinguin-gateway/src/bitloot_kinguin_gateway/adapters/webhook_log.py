"""The webhook log: every call to the webhook endpoint, once, with what became of it."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_kinguin_gateway.adapters.orm import webhook_log


@dataclass(frozen=True)
class Notification:
    """What a webhook said, as far as it could be read."""

    event_name: str | None
    kinguin_order_id: str | None = None
    order_external_id: str | None = None
    status: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class LoggedWebhook:
    """A logged call as stored: its headers with secrets already redacted."""

    id: int
    received_at: datetime
    event_name: str | None
    kinguin_order_id: str | None
    order_external_id: str | None
    order_id: UUID | None
    status: str | None
    updated_at: datetime | None
    raw_body: bytes
    headers: dict[str, str]
    authenticated: bool
    duplicate: bool
    applied: bool
    note: str | None

    def notification(self) -> Notification:
        """What the call said, as the edge read it."""
        return Notification(
            self.event_name,
            self.kinguin_order_id,
            self.order_external_id,
            self.status,
            self.updated_at,
        )


@dataclass(frozen=True)
class WebhookFilter:
    """What to list: every field given must match."""

    order_id: UUID | None = None
    event_name: str | None = None
    authenticated: bool | None = None
    duplicate: bool | None = None


class WebhookLog:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def record(
        self,
        notification: Notification,
        *,
        raw_body: bytes,
        headers: Mapping[str, str],
        authenticated: bool,
        note: str | None = None,
    ) -> tuple[int, bool]:
        """Log a call; its row id, and whether it repeats an authenticated one.

        The partial unique index decides: the first copy inserts; a later copy conflicts
        and is inserted again marked `duplicate`, so racing copies cannot both apply.
        """
        values = {
            "event_name": notification.event_name,
            "kinguin_order_id": notification.kinguin_order_id,
            "order_external_id": notification.order_external_id,
            "status": notification.status,
            "updated_at": notification.updated_at,
            "raw_body": raw_body,
            "headers": dict(headers),
            "authenticated": authenticated,
            "note": note,
        }
        first = await self._session.execute(
            pg_insert(webhook_log)
            .values(**values, duplicate=False)
            .on_conflict_do_nothing()
            .returning(webhook_log.c.id)
        )
        row_id = first.scalar()
        if row_id is not None:
            return row_id, False
        again = await self._session.execute(
            pg_insert(webhook_log).values(**values, duplicate=True).returning(webhook_log.c.id)
        )
        return again.scalar_one(), True

    async def settle(
        self, row_id: int, *, order_id: UUID | None, applied: bool, note: str | None
    ) -> None:
        await self._session.execute(
            update(webhook_log)
            .where(webhook_log.c.id == row_id)
            .values(order_id=order_id, applied=applied, note=note)
        )

    async def of_order(self, order_id: UUID) -> list[LoggedWebhook]:
        query = (
            select(webhook_log)
            .where(webhook_log.c.order_id == order_id)
            .order_by(webhook_log.c.received_at, webhook_log.c.id)
        )
        return await self._all(query)

    async def get(self, row_id: int, *, for_update: bool = False) -> LoggedWebhook | None:
        query = select(webhook_log).where(webhook_log.c.id == row_id)
        found = await self._all(query.with_for_update() if for_update else query)
        return found[0] if found else None

    async def search(
        self, matching: WebhookFilter, *, limit: int, offset: int
    ) -> list[LoggedWebhook]:
        """Logged calls matching `matching`, newest first."""
        query = select(webhook_log)
        for column, value in (
            (webhook_log.c.order_id, matching.order_id),
            (webhook_log.c.event_name, matching.event_name),
            (webhook_log.c.authenticated, matching.authenticated),
            (webhook_log.c.duplicate, matching.duplicate),
        ):
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(webhook_log.c.id.desc()).limit(limit).offset(offset)
        return await self._all(query)

    async def _all(self, query: Any) -> list[LoggedWebhook]:
        rows = (await self._session.execute(query)).mappings().all()
        return [LoggedWebhook(**dict(row)) for row in rows]
