"""The webhook log: every call to the webhook endpoint, once, with what became of it.

Logging and settling a call are plain SQL on the unit of work's asyncpg connection (once
per webhook); the admin's reads go through SQLAlchemy."""

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select

from bitloot_kinguin_gateway.adapters.orm import webhook_log
from bitloot_kinguin_gateway.adapters.sql import SqlRepository, where_given
from bitloot_kinguin_gateway.domain.webhook import DUPLICATE as DUPLICATE
from bitloot_kinguin_gateway.domain.webhook import LoggedWebhook as LoggedWebhook
from bitloot_kinguin_gateway.domain.webhook import Notification as Notification
from bitloot_kinguin_gateway.domain.webhook import WebhookCall as WebhookCall
from bitloot_kinguin_gateway.handlers.ports import Webhooks

_INSERT = (
    "INSERT INTO webhook_log (event_name, kinguin_order_id, order_external_id, status,"
    " updated_at, raw_body, headers, authenticated, note, order_id, applied, duplicate)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {})"
)
# The partial unique index on an authenticated notification's fields decides which copy
# is the first.
_RECORD_FIRST = _INSERT.format("$9, $10, $11, false") + " ON CONFLICT DO NOTHING RETURNING id"
_RECORD_DUPLICATE = _INSERT.format(f"'{DUPLICATE}', $9, false, true") + " RETURNING id"
_SETTLE = "UPDATE webhook_log SET order_id = $2, applied = $3, note = $4 WHERE id = $1"


@dataclass(frozen=True)
class WebhookFilter:
    """What to list: every field given must match."""

    order_id: UUID | None = None
    event_name: str | None = None
    authenticated: bool | None = None
    duplicate: bool | None = None


class WebhookLog(SqlRepository, Webhooks):
    async def record(self, call: WebhookCall) -> tuple[int, bool]:
        n = call.notification
        values = (
            *(n.event_name, n.kinguin_order_id, n.order_external_id, n.status, n.updated_at),
            *(call.raw_body, json.dumps(dict(call.headers)), call.authenticated),
        )
        settled = (call.note, call.order_id, call.applied)
        row_id: int | None = await self._fetchval(_RECORD_FIRST, *values, *settled)
        if row_id is not None:
            return row_id, False
        again: int = await self._fetchval(_RECORD_DUPLICATE, *values, call.order_id)
        return again, True

    async def settle(
        self, row_id: int, *, order_id: UUID | None, applied: bool, note: str | None
    ) -> None:
        await self._execute(_SETTLE, row_id, order_id, applied, note)

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
        query = (
            where_given(
                select(webhook_log),
                (webhook_log.c.order_id, matching.order_id),
                (webhook_log.c.event_name, matching.event_name),
                (webhook_log.c.authenticated, matching.authenticated),
                (webhook_log.c.duplicate, matching.duplicate),
            )
            .order_by(webhook_log.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return await self._all(query)

    async def _all(self, query: Any) -> list[LoggedWebhook]:
        rows = (await self._session.execute(query)).mappings().all()
        return [LoggedWebhook(**dict(row)) for row in rows]
