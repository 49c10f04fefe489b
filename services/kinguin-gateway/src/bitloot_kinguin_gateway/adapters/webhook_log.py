"""The webhook log: every call to the webhook endpoint, once, with what became of it."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

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
    received_at: datetime
    event_name: str | None
    status: str | None
    authenticated: bool
    duplicate: bool
    applied: bool
    note: str | None


class WebhookLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        notification: Notification,
        *,
        raw_body: bytes,
        headers: Mapping[str, str],
        authenticated: bool,
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
        rows = (await self._session.execute(query)).mappings().all()
        return [
            LoggedWebhook(
                received_at=row["received_at"],
                event_name=row["event_name"],
                status=row["status"],
                authenticated=row["authenticated"],
                duplicate=row["duplicate"],
                applied=row["applied"],
                note=row["note"],
            )
            for row in rows
        ]
