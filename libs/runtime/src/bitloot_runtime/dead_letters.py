"""Parked messages: stored with everything needed to understand and replay them.

A message is parked when it is invalid, when its handler raised a `PermanentError`, or
when its retries ran out. Parking a message that is already parked (a replay that failed
again) updates the same row.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bitloot_runtime.delivery import Delivery
from bitloot_runtime.errors import BitlootError
from bitloot_runtime.publisher import BusPublisher
from bitloot_runtime.tables import dead_letters

_MAX_ERROR_CHARS = 4000


class DeadLetterNotFound(BitlootError):
    def __init__(self, letter_id: int) -> None:
        super().__init__(f"Dead letter {letter_id} does not exist.")
        self.letter_id = letter_id


class DeadLetterAlreadyReplayed(BitlootError):
    def __init__(self, letter_id: int) -> None:
        super().__init__(
            f"Dead letter {letter_id} was already replayed and has not been parked again; "
            "replay it again only with force."
        )
        self.letter_id = letter_id


@dataclass(frozen=True)
class DeadLetter:
    """A parked message as admins see it."""

    id: int
    queue: str
    topic: str
    message_id: str
    order_id: str | None
    body: bytes
    headers: dict[str, str]
    reason: str
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    parked_at: datetime
    replayed_at: datetime | None
    replay_count: int


class DeadLetterStore:
    """Reads and writes the service's `dead_letters` table."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def park(self, delivery: Delivery, *, reason: str, error: str) -> None:
        """Store `delivery` as parked, or refresh the row of an earlier parking."""
        now = datetime.now(UTC)
        values = {
            "queue": delivery.queue,
            "message_id": delivery.message_id,
            "topic": delivery.topic,
            "order_id": delivery.order_id,
            "body": delivery.body,
            "headers": dict(delivery.headers),
            "reason": reason,
            "error": error[:_MAX_ERROR_CHARS],
            "attempts": delivery.attempt,
            "first_failed_at": delivery.first_failed_at or now,
            "last_failed_at": now,
            "parked_at": now,
            "replayed_at": None,
        }
        statement = insert(dead_letters).values(values)
        statement = statement.on_conflict_do_update(
            constraint="uq_dead_letters_queue_message",
            set_={k: statement.excluded[k] for k in values if k not in ("queue", "message_id")},
        )
        async with self._sessionmaker() as session, session.begin():
            await session.execute(statement)

    async def list(
        self, *, include_replayed: bool = False, limit: int = 100, before: int | None = None
    ) -> list[DeadLetter]:
        """Parked messages, newest (highest id) first; with `before`, only those with a
        smaller id: the next page after one whose last letter had that id."""
        query = select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(dead_letters.c.id < before)
        if not include_replayed:
            query = query.where(dead_letters.c.replayed_at.is_(None))
        async with self._sessionmaker() as session:
            rows = (await session.execute(query)).mappings().all()
        return [DeadLetter(**row) for row in rows]

    async def count_waiting(self) -> int:
        async with self._sessionmaker() as session:
            query = select(func.count()).where(dead_letters.c.replayed_at.is_(None))
            return int((await session.execute(query)).scalar_one())

    async def replay(
        self, letter_id: int, publisher: BusPublisher, *, force: bool = False
    ) -> DeadLetter:
        """Send a parked message back to the queue it failed on, from attempt one.

        The row stays locked while publishing and it is marked replayed only after the
        broker confirmed the message, so of two admins replaying at once one sends it and
        the other is refused: a letter already replayed (and not parked again since, which
        clears `replayed_at`) raises `DeadLetterAlreadyReplayed` unless `force` says the
        admin means to send it once more.
        """
        async with self._sessionmaker() as session, session.begin():
            locked = select(dead_letters).where(dead_letters.c.id == letter_id).with_for_update()
            row = (await session.execute(locked)).mappings().first()
            if row is None:
                raise DeadLetterNotFound(letter_id)
            letter = DeadLetter(**row)
            if letter.replayed_at is not None and not force:
                raise DeadLetterAlreadyReplayed(letter_id)
            await _resend(letter, publisher)
            marked = (
                update(dead_letters)
                .where(dead_letters.c.id == letter_id)
                .values(replayed_at=func.now(), replay_count=dead_letters.c.replay_count + 1)
                .returning(dead_letters)
            )
            replayed = (await session.execute(marked)).mappings().one()
        return DeadLetter(**replayed)


async def _resend(letter: DeadLetter, publisher: BusPublisher) -> None:
    delivery = Delivery(
        queue=letter.queue,
        topic=letter.topic,
        body=letter.body,
        message_id=letter.message_id,
        order_id=letter.order_id,
        headers=letter.headers,
        attempt=letter.attempts,
        first_failed_at=letter.first_failed_at,
    ).as_replayed()
    await publisher.send_to_queue(
        queue=delivery.queue,
        body=delivery.body,
        message_id=delivery.message_id,
        order_id=delivery.order_id,
        headers=delivery.headers,
    )


def summarize(error: BaseException) -> str:
    """A one-line description of an error for the dead-letter row and the logs."""
    return f"{type(error).__name__}: {error}"[:_MAX_ERROR_CHARS]
