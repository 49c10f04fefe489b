"""Read-only views for the internal API: a delivery's summary, an order's timeline, its
key audit and its email log."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from pydantic import JsonValue
from sqlalchemy import Text, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_delivery.adapters.orm import deliveries, emails, key_events, reveals
from bitloot_delivery.domain.emails import EmailKind, EmailStatus
from bitloot_delivery.domain.refund_notices import RefundNotice

# What the admin's views show, named one by one so that a column added later stays out
# until it is named here: never the customer's address, the Kinguin order, where the
# ciphertext is and what opens it, nor the trace an email was queued in.
_SUMMARY = [
    "order_id",
    "key_count",
    "stored_at",
    "emailed_at",
    "viewed_at",
    "purged_at",
    "kek_id",
    "revoked_at",
    "revoked_by",
    "revoke_note",
]
_LOG = [
    "id",
    "kind",
    "is_preorder",
    "release_date",
    "refund_id",
    "notice",
    "resend_of",
    "requested_by",
    "status",
    "attempts",
    "smtp_stage",
    "recovered_attempts",
    "doubtful_resends",
    "last_error",
    "message_id",
    "created_at",
    "claimed_at",
    "sent_at",
    "failed_at",
    "next_attempt_at",
]


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    summary: str
    data: dict[str, str | int | None]


async def delivery_summary(engine: AsyncEngine, order_id: UUID) -> dict[str, JsonValue] | None:
    """The delivery's row, less what the admin does not see, and its reveal count; or
    None."""
    reveal_count = (
        select(func.count())
        .select_from(reveals)
        .where(reveals.c.order_id == deliveries.c.order_id)
        .scalar_subquery()
    )
    shown = [deliveries.c[name] for name in _SUMMARY]
    query = select(*shown, reveal_count.label("reveal_count")).where(
        deliveries.c.order_id == order_id
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).mappings().first()
    if row is None:
        return None
    return {name: _json(value) for name, value in row.items()}


async def timeline(engine: AsyncEngine, order_id: UUID) -> list[TimelineItem]:
    """What delivery did for the order, oldest first (a delay notice may come before any
    key); empty for an unknown order."""
    async with engine.connect() as connection:
        delivery = (
            await connection.execute(
                select(deliveries.c.stored_at, deliveries.c.key_count).where(
                    deliveries.c.order_id == order_id
                )
            )
        ).first()
        mails = (
            await connection.execute(select(emails).where(emails.c.order_id == order_id))
        ).mappings()
        views = (
            await connection.execute(select(reveals.c.at).where(reveals.c.order_id == order_id))
        ).scalars()
        # Listed before the emails it queued (same timestamp): the sort below is stable.
        items = [] if delivery is None else [_stored_item(delivery.stored_at, delivery.key_count)]
        items += [i for mail in mails for i in _email_items(mail)]
        items += [
            TimelineItem(at, "keys_revealed", "Keys revealed via the link", {}) for at in views
        ]
        events = await connection.execute(
            select(key_events.c.at, key_events.c.action, key_events.c.actor).where(
                key_events.c.order_id == order_id
            )
        )
        items += [
            TimelineItem(at, f"key_{action}", f"{action.replace('_', ' ')} by {actor}", {})
            for at, action, actor in events
        ]
    return sorted(items, key=lambda item: item.at)


async def key_audit(engine: AsyncEngine, order_id: UUID) -> list[dict[str, Any]]:
    """Every reveal and key event of the order, oldest first:
    ``{at, action, actor, ip, user_agent, detail}``."""
    views = select(
        reveals.c.at,
        literal("revealed").label("action"),
        literal("customer").label("actor"),
        reveals.c.ip,
        reveals.c.user_agent,
        literal(None, Text).label("detail"),
    ).where(reveals.c.order_id == order_id)
    events = select(
        key_events.c.at,
        key_events.c.action,
        key_events.c.actor,
        key_events.c.ip,
        key_events.c.user_agent,
        key_events.c.detail,
    ).where(key_events.c.order_id == order_id)
    query = union_all(views, events).order_by("at")
    async with engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(query)).mappings()]


async def email_log(engine: AsyncEngine, order_id: UUID) -> list[dict[str, Any]]:
    """The order's email rows, oldest first (the columns are described in `orm.emails`).
    A refund email's `notice` never holds the claim token: it is minted when the email is
    sent and kept nowhere."""
    query = (
        select(*(emails.c[name] for name in _LOG))
        .where(emails.c.order_id == order_id)
        .order_by(emails.c.id)
    )
    async with engine.connect() as connection:
        return [dict(row) for row in (await connection.execute(query)).mappings()]


def _stored_item(at: datetime, key_count: int) -> TimelineItem:
    summary = f"{key_count} key(s) stored encrypted"
    return TimelineItem(at, "keys_stored", summary, {"key_count": key_count})


def _email_items(mail: Any) -> list[TimelineItem]:
    data: dict[str, str | int | None] = {"email_kind": mail["kind"], "attempts": mail["attempts"]}
    if mail["kind"] == EmailKind.DELAYED:
        data["notice"] = _notice(mail)
    if mail["notice"] is not None:
        data["notice"] = _refund_notice(mail["notice"])
    if mail["resend_of"] is not None:
        data["resend_of"] = mail["resend_of"]
    items = [TimelineItem(mail["created_at"], "email_queued", f"{mail['kind']} email queued", data)]
    if mail["sent_at"] is not None:
        items.append(
            TimelineItem(mail["sent_at"], "email_sent", f"{mail['kind']} email sent", data)
        )
    if mail["failed_at"] is not None and mail["status"] == EmailStatus.UNCONFIRMED:
        doubt = {**data, "last_error": mail["last_error"]}
        summary = f"{mail['kind']} email unconfirmed: cut off during DATA, may not have arrived"
        items.append(TimelineItem(mail["failed_at"], "email_unconfirmed", summary, doubt))
    elif mail["failed_at"] is not None:
        failed = {**data, "last_error": mail["last_error"]}
        summary = f"{mail['kind']} email failed after {mail['attempts']} attempts"
        items.append(TimelineItem(mail["failed_at"], "email_failed", summary, failed))
    return items


def _notice(mail: Any) -> str:
    if not mail["is_preorder"]:
        return "order delayed"
    release = mail["release_date"]
    return "preorder" if release is None else f"preorder, release {release.isoformat()}"


def _refund_notice(stored: dict[str, JsonValue]) -> str:
    """``refund 7: 0.00123 btc (order_failed, reservation)``, for the timeline."""
    notice = RefundNotice.from_json(stored)
    why = ", ".join(part for part in (notice.reason, notice.cause) if part)
    text = f"refund {notice.refund_id}: {notice.amount} {notice.currency} ({why})"
    if notice.transaction_id:
        text += f", transaction {notice.transaction_id}"
    return text


def _json(value: object) -> JsonValue:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else cast(JsonValue, value)
