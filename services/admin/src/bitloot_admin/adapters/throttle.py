"""Login attempt counters in the admin database, shared by every admin instance."""

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_admin.adapters.orm import login_throttle
from bitloot_admin.domain.throttle import Verdict, Window, count_attempt
from bitloot_admin.handlers.ports import LoginThrottle


class SqlLoginThrottle(LoginThrottle):
    def __init__(self, db: AsyncConnection) -> None:
        self._db = db

    async def count(self, key: str, now: datetime, limit: int, length: timedelta) -> Verdict:
        await self._db.execute(
            pg_insert(login_throttle)
            .values(key=key, window_started_at=now, attempts=0)
            .on_conflict_do_nothing(index_elements=[login_throttle.c.key])
        )
        row = (
            await self._db.execute(
                select(login_throttle).where(login_throttle.c.key == key).with_for_update()
            )
        ).one()
        current = Window(row.window_started_at, row.attempts) if row.attempts else None
        verdict = count_attempt(current, now, limit, length)
        await self._db.execute(
            update(login_throttle)
            .where(login_throttle.c.key == key)
            .values(window_started_at=verdict.window.started_at, attempts=verdict.window.attempts)
        )
        return verdict
