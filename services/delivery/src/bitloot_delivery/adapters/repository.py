"""Reading and writing deliveries, their key metadata, emails and reveals, always in the
caller's unit of work (so the effect and its events commit together)."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bitloot_delivery.adapters.email_log import queuing, superseding
from bitloot_delivery.adapters.orm import delivered_keys, deliveries, key_events, reveals
from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.domain.keys import DeliveredKey


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to record: where the ciphertext is and the wrapped key that opens it."""

    order_id: UUID
    customer_email: str
    kinguin_order_id: str
    kek_id: str
    wrapped_data_key: bytes
    object_key: str
    key_count: int


@dataclass(frozen=True)
class StoredDelivery:
    """A recorded delivery and what has happened to it since; once retention has purged
    it, `purged_at` is set and `wrapped_data_key` is gone; once an admin revoked its keys
    (refunding the order), `revoked_at` is set and nothing reveals them."""

    order_id: UUID
    customer_email: str
    kinguin_order_id: str
    kek_id: str
    wrapped_data_key: bytes | None
    object_key: str
    key_count: int
    stored_at: datetime
    emailed_at: datetime | None
    viewed_at: datetime | None
    purged_at: datetime | None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_note: str | None = None


@dataclass(frozen=True)
class KeyEvent:
    """One row of the key audit (besides reveals, which have their own table)."""

    action: str
    actor: str
    ip: str | None = None
    user_agent: str | None = None
    detail: str | None = None


class DeliveryRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def lock_order(self, order_id: UUID) -> None:
        """Serialise work on one order until the transaction ends, so that two copies of
        its keys handled at once never overwrite each other's object."""
        await self._session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:order_id, 0))"),
            {"order_id": str(order_id)},
        )

    async def get(self, order_id: UUID) -> StoredDelivery | None:
        query = select(deliveries).where(deliveries.c.order_id == order_id)
        row = (await self._session.execute(query)).mappings().first()
        return None if row is None else StoredDelivery(**row)

    async def add(self, delivery: NewDelivery, keys: Sequence[DeliveredKey]) -> None:
        """The delivery, one metadata row per key (never its value) and its one email;
        a delay notice still waiting to go out is withdrawn (the keys email says more).
        All in one statement: one round trip per order."""
        rows = [
            {
                "order_id": delivery.order_id,
                "position": position,
                "key_type": key.type,
                "product_id": key.product_id,
            }
            for position, key in enumerate(keys)
        ]
        statement = queuing(delivery.order_id, EmailKind.DELIVERY, delivery.customer_email)
        writes = [
            insert(deliveries).values(asdict(delivery)).cte("stored"),
            superseding(delivery.order_id).cte("superseded"),
        ]
        if rows:
            writes.append(insert(delivered_keys).values(rows).cte("described"))
        await self._session.execute(statement.add_cte(*writes))

    async def record_reveal(self, order_id: UUID, ip: str | None, user_agent: str | None) -> None:
        await self._session.execute(
            insert(reveals).values(order_id=order_id, ip=ip, user_agent=user_agent)
        )
        await self._session.execute(
            update(deliveries)
            .where(deliveries.c.order_id == order_id, deliveries.c.viewed_at.is_(None))
            .values(viewed_at=func.now())
        )

    async def reveal_count(self, order_id: UUID) -> int:
        query = select(func.count()).select_from(reveals).where(reveals.c.order_id == order_id)
        return int((await self._session.execute(query)).scalar_one())

    async def mark_revoked(self, order_id: UUID, actor: str, note: str | None) -> datetime:
        """Mark the delivery revoked (never revealed again); when."""
        statement = (
            update(deliveries)
            .where(deliveries.c.order_id == order_id)
            .values(revoked_at=func.now(), revoked_by=actor, revoke_note=note)
            .returning(deliveries.c.revoked_at)
        )
        revoked_at: datetime = (await self._session.execute(statement)).scalar_one()
        return revoked_at

    async def record_event(self, order_id: UUID, event: KeyEvent) -> None:
        await self._session.execute(insert(key_events).values(order_id=order_id, **asdict(event)))

    async def wrapped_by_other_keks(
        self, current_kek_id: str, limit: int, skip: Sequence[UUID]
    ) -> list[tuple[UUID, str, bytes]]:
        """Up to `limit` live data keys not wrapped by `current_kek_id` (and not in
        `skip`), locked; rows another re-wrapper holds are passed over."""
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
        return [(row[0], row[1], row[2]) for row in (await self._session.execute(query)).all()]

    async def set_wrapped_data_key(self, order_id: UUID, kek_id: str, wrapped: bytes) -> None:
        await self._session.execute(
            update(deliveries)
            .where(deliveries.c.order_id == order_id)
            .values(kek_id=kek_id, wrapped_data_key=wrapped)
        )

    async def due_for_purge(
        self, stored_before: datetime, limit: int, offset: int = 0
    ) -> list[tuple[UUID, str]]:
        """Up to `limit` unpurged deliveries stored before `stored_before` (after the
        first `offset`), oldest first, locked, as (order id, object key)."""
        query = (
            select(deliveries.c.order_id, deliveries.c.object_key)
            .where(deliveries.c.purged_at.is_(None), deliveries.c.stored_at < stored_before)
            .order_by(deliveries.c.stored_at, deliveries.c.order_id)
            .offset(offset)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(row[0], row[1]) for row in (await self._session.execute(query)).all()]

    async def mark_purged(self, order_id: UUID) -> None:
        """Forget the wrapped data key too: any copy of the ciphertext left anywhere (a
        backup, a replica) can no longer be opened."""
        await self._session.execute(
            update(deliveries)
            .where(deliveries.c.order_id == order_id)
            .values(purged_at=func.now(), wrapped_data_key=None)
        )
