"""Reading and writing deliveries, their key metadata, emails and reveals, always in the
caller's unit of work (so the effect and its events commit together)."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bitloot_delivery.adapters.orm import delivered_keys, deliveries, emails, reveals
from bitloot_delivery.domain.emails import EmailKind, EmailStatus
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
class StoredDelivery(NewDelivery):
    """A recorded delivery and what has happened to it since."""

    stored_at: datetime
    emailed_at: datetime | None
    viewed_at: datetime | None


@dataclass(frozen=True)
class PendingEmail:
    id: int
    order_id: UUID
    kind: EmailKind
    to_address: str
    attempts: int
    key_count: int


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
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
        """The delivery, one metadata row per key (never its value) and its email."""
        await self._session.execute(insert(deliveries).values(asdict(delivery)))
        await self._session.execute(
            insert(delivered_keys),
            [
                {
                    "order_id": delivery.order_id,
                    "position": position,
                    "key_type": key.type,
                    "product_id": key.product_id,
                }
                for position, key in enumerate(keys)
            ],
        )
        await self._session.execute(
            pg_insert(emails)
            .values(
                order_id=delivery.order_id,
                kind=EmailKind.DELIVERY.value,
                to_address=delivery.customer_email,
                status=EmailStatus.PENDING.value,
            )
            .on_conflict_do_nothing()
        )

    async def next_pending_email(self) -> PendingEmail | None:
        """The oldest email due, locked so that no other sender takes it meanwhile."""
        query = (
            select(
                emails.c.id,
                emails.c.order_id,
                emails.c.kind,
                emails.c.to_address,
                emails.c.attempts,
                deliveries.c.key_count,
            )
            .join(deliveries, deliveries.c.order_id == emails.c.order_id)
            .where(
                emails.c.status == EmailStatus.PENDING.value,
                emails.c.next_attempt_at <= func.now(),
            )
            .order_by(emails.c.next_attempt_at, emails.c.id)
            .limit(1)
            .with_for_update(of=emails, skip_locked=True)
        )
        row = (await self._session.execute(query)).mappings().first()
        if row is None:
            return None
        return PendingEmail(**{**row, "kind": EmailKind(row["kind"])})

    async def mark_sent(self, email: PendingEmail) -> None:
        await self._session.execute(
            update(emails)
            .where(emails.c.id == email.id)
            .values(status=EmailStatus.SENT.value, sent_at=func.now(), attempts=email.attempts + 1)
        )
        await self._session.execute(
            update(deliveries)
            .where(deliveries.c.order_id == email.order_id, deliveries.c.emailed_at.is_(None))
            .values(emailed_at=func.now())
        )

    async def mark_attempt_failed(
        self, email: PendingEmail, error: str, retry_at: datetime | None
    ) -> None:
        """Record a refused attempt: due again at `retry_at`, or failed for good if None."""
        values: dict[str, object] = {"attempts": email.attempts + 1, "last_error": error}
        if retry_at is None:
            values |= {"status": EmailStatus.FAILED.value, "failed_at": func.now()}
        else:
            values["next_attempt_at"] = retry_at
        await self._session.execute(update(emails).where(emails.c.id == email.id).values(values))

    async def record_reveal(self, order_id: UUID, ip: str | None, user_agent: str | None) -> None:
        await self._session.execute(
            insert(reveals).values(order_id=order_id, ip=ip, user_agent=user_agent)
        )
        await self._session.execute(
            update(deliveries)
            .where(deliveries.c.order_id == order_id, deliveries.c.viewed_at.is_(None))
            .values(viewed_at=func.now())
        )
