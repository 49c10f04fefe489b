"""Reading and writing deliveries, their key metadata, emails and reveals, always in the
caller's unit of work (so the effect and its events commit together)."""

from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime
from uuid import UUID

from sqlalchemy import Update, func, insert, select, update

from bitloot_delivery.adapters.orm import deliveries, key_events, reveals
from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.handlers.ports import Deliveries, KeyEvent, NewDelivery, StoredDelivery
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.telemetry import outgoing_traceparent


class DeliveryRepository(Deliveries):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def lock_order(self, order_id: UUID) -> None:
        driver = await self._uow.driver()
        await driver.execute(_LOCK_ORDER, str(order_id))

    async def get(self, order_id: UUID) -> StoredDelivery | None:
        driver = await self._uow.driver()
        row = await driver.fetchrow(_GET, order_id)
        return None if row is None else StoredDelivery(**dict(row))

    async def add(self, delivery: NewDelivery, keys: Sequence[DeliveredKey]) -> None:
        """The delivery, one metadata row per key (never its value) and its one email;
        a delay notice still waiting to go out is withdrawn (the keys email says more).
        All in one statement, its text the same whatever the number of keys (they go as
        arrays): one round trip per order, prepared once per connection."""
        driver = await self._uow.driver()
        await driver.fetch(
            _ADD,
            delivery.order_id,
            delivery.customer_email,
            delivery.kinguin_order_id,
            delivery.kek_id,
            delivery.wrapped_data_key,
            delivery.object_key,
            delivery.key_count,
            [key.type for key in keys],
            [key.product_id for key in keys],
            outgoing_traceparent(),
        )

    async def record_reveal(self, order_id: UUID, ip: str | None, user_agent: str | None) -> None:
        await self._uow.session.execute(
            insert(reveals).values(order_id=order_id, ip=ip, user_agent=user_agent)
        )
        await self._uow.session.execute(
            update(deliveries)
            .where(deliveries.c.order_id == order_id, deliveries.c.viewed_at.is_(None))
            .values(viewed_at=func.now())
        )

    async def reveal_count(self, order_id: UUID) -> int:
        query = select(func.count()).select_from(reveals).where(reveals.c.order_id == order_id)
        return int((await self._uow.session.execute(query)).scalar_one())

    async def mark_revoked(self, order_id: UUID, actor: str, note: str | None) -> datetime:
        statement = self._update(
            order_id, revoked_at=func.now(), revoked_by=actor, revoke_note=note
        )
        revoked_at: datetime = (
            await self._uow.session.execute(statement.returning(deliveries.c.revoked_at))
        ).scalar_one()
        return revoked_at

    async def record_event(self, order_id: UUID, event: KeyEvent) -> None:
        await self._uow.session.execute(
            insert(key_events).values(order_id=order_id, **asdict(event))
        )

    async def wrapped_by_other_keks(
        self, current_kek_id: str, limit: int, skip: Sequence[UUID]
    ) -> list[tuple[UUID, str, bytes]]:
        query = (
            select(deliveries.c.order_id, deliveries.c.kek_id, deliveries.c.wrapped_data_key)
            .where(
                deliveries.c.kek_id != current_kek_id,
                deliveries.c.wrapped_data_key.is_not(None),
                deliveries.c.order_id.not_in(skip),
            )
            .order_by(deliveries.c.order_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(row[0], row[1], row[2]) for row in (await self._uow.session.execute(query)).all()]

    async def set_wrapped_data_key(self, order_id: UUID, kek_id: str, wrapped: bytes) -> None:
        await self._uow.session.execute(
            self._update(order_id, kek_id=kek_id, wrapped_data_key=wrapped)
        )

    async def due_for_purge(
        self, stored_before: datetime, limit: int, offset: int = 0
    ) -> list[tuple[UUID, str]]:
        query = (
            select(deliveries.c.order_id, deliveries.c.object_key)
            .where(deliveries.c.purged_at.is_(None), deliveries.c.stored_at < stored_before)
            .order_by(deliveries.c.stored_at, deliveries.c.order_id)
            .offset(offset)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(row[0], row[1]) for row in (await self._uow.session.execute(query)).all()]

    async def mark_purged(self, order_id: UUID) -> None:
        await self._uow.session.execute(
            self._update(order_id, purged_at=func.now(), wrapped_data_key=None)
        )

    @staticmethod
    def _update(order_id: UUID, **values: object) -> Update:
        return update(deliveries).where(deliveries.c.order_id == order_id).values(**values)


# The per-order statements, as plain SQL on the driver (`UnitOfWork.driver()`), with
# the values of EmailStatus and EmailKind spelled out (and email_log.EMAILS_CHANNEL).
_LOCK_ORDER = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
# The columns of StoredDelivery.
_GET = f"""\
SELECT {", ".join(field.name for field in fields(StoredDelivery))}
FROM deliveries WHERE order_id = $1"""  # noqa: S608 - no value in the text
# The delivery, its keys' metadata (positions from 0, in the order given), the delay
# notice withdrawn if still pending, the delivery email queued (none if the order has one:
# a partial unique index) and, only if it was, the sender NOTIFYed at commit (what
# `email_log.queuing` does, and the delay notice's withdrawal, in this one statement).
_ADD = """\
WITH stored AS (
    INSERT INTO deliveries
        (order_id, customer_email, kinguin_order_id, kek_id, wrapped_data_key, object_key,
         key_count)
    VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)
), described AS (
    INSERT INTO delivered_keys (order_id, position, key_type, product_id)
    SELECT $1::uuid, (k.position - 1)::int, k.key_type, k.product_id
    FROM unnest($8::text[], $9::text[]) WITH ORDINALITY AS k(key_type, product_id, position)
), superseded AS (
    UPDATE emails SET status = 'superseded'
    WHERE order_id = $1::uuid AND kind = 'delayed' AND status = 'pending'
), queued AS (
    INSERT INTO emails (order_id, kind, to_address, traceparent)
    VALUES ($1::uuid, 'delivery', $2, $10)
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT id, pg_notify('delivery_emails', '') FROM queued"""
