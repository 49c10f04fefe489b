"""Read-only views for the internal API: a delivery's summary and an order's timeline."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_delivery.adapters.orm import deliveries, emails, reveals


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    summary: str
    data: dict[str, str | int | None]


async def delivery_summary(engine: AsyncEngine, order_id: UUID) -> dict[str, Any] | None:
    """``{order_id, key_count, stored_at, emailed_at, viewed_at, reveal_count}`` or None."""
    reveal_count = (
        select(func.count())
        .select_from(reveals)
        .where(reveals.c.order_id == deliveries.c.order_id)
        .scalar_subquery()
    )
    query = select(
        deliveries.c.order_id,
        deliveries.c.key_count,
        deliveries.c.stored_at,
        deliveries.c.emailed_at,
        deliveries.c.viewed_at,
        reveal_count.label("reveal_count"),
    ).where(deliveries.c.order_id == order_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).mappings().first()
    if row is None:
        return None
    return {
        "order_id": str(row["order_id"]),
        "key_count": row["key_count"],
        "stored_at": _iso(row["stored_at"]),
        "emailed_at": _iso(row["emailed_at"]),
        "viewed_at": _iso(row["viewed_at"]),
        "reveal_count": row["reveal_count"],
    }


async def timeline(engine: AsyncEngine, order_id: UUID) -> list[TimelineItem]:
    """What delivery did for the order, oldest first; empty for an unknown order."""
    async with engine.connect() as connection:
        delivery = (
            await connection.execute(
                select(deliveries.c.stored_at, deliveries.c.key_count).where(
                    deliveries.c.order_id == order_id
                )
            )
        ).first()
        if delivery is None:
            return []
        mails = (
            await connection.execute(select(emails).where(emails.c.order_id == order_id))
        ).mappings()
        views = (
            await connection.execute(select(reveals.c.at).where(reveals.c.order_id == order_id))
        ).scalars()
        stored = TimelineItem(
            delivery.stored_at,
            "keys_stored",
            f"{delivery.key_count} key(s) stored encrypted",
            {"key_count": delivery.key_count},
        )
        items = [stored, *(i for mail in mails for i in _email_items(mail))]
        items += [
            TimelineItem(at, "keys_revealed", "Keys revealed via the link", {}) for at in views
        ]
    return sorted(items, key=lambda item: item.at)


def _email_items(mail: Any) -> list[TimelineItem]:
    data: dict[str, str | int | None] = {"email_kind": mail["kind"], "attempts": mail["attempts"]}
    items = [TimelineItem(mail["created_at"], "email_queued", f"{mail['kind']} email queued", data)]
    if mail["sent_at"] is not None:
        items.append(
            TimelineItem(mail["sent_at"], "email_sent", f"{mail['kind']} email sent", data)
        )
    if mail["failed_at"] is not None:
        failed = {**data, "last_error": mail["last_error"]}
        summary = f"{mail['kind']} email failed after {mail['attempts']} attempts"
        items.append(TimelineItem(mail["failed_at"], "email_failed", summary, failed))
    return items


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
