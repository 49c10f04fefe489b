"""Login attempt counters in the admin database, shared by every admin instance."""

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_admin.adapters.orm import login_throttle
from bitloot_admin.domain.throttle import Verdict, Window, count_attempt


async def count(
    session: AsyncSession, key: str, now: datetime, limit: int, length: timedelta
) -> Verdict:
    """Count an attempt for `key` in the caller's transaction; the row stays locked until
    it ends, so concurrent attempts on several instances are all counted."""
    await session.execute(
        pg_insert(login_throttle)
        .values(key=key, window_started_at=now, attempts=0)
        .on_conflict_do_nothing(index_elements=[login_throttle.c.key])
    )
    row = (
        await session.execute(
            select(login_throttle).where(login_throttle.c.key == key).with_for_update()
        )
    ).one()
    current = Window(row.window_started_at, row.attempts) if row.attempts else None
    verdict = count_attempt(current, now, limit, length)
    await session.execute(
        update(login_throttle)
        .where(login_throttle.c.key == key)
        .values(window_started_at=verdict.window.started_at, attempts=verdict.window.attempts)
    )
    return verdict
