"""The email sender: a due email goes out once with delivery.completed; a refused one is
retried, then failed with delivery.failed."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from delivery_support import LINK_SECRET, PUBLIC_URL
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bitloot_delivery.adapters.mailer import SmtpMailer
from bitloot_delivery.adapters.orm import deliveries, emails, metadata
from bitloot_delivery.adapters.repository import DeliveryRepository, NewDelivery
from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.links import RevealLinks
from bitloot_delivery.handlers.send_email import EmailSender
from bitloot_delivery.migrations import VERSIONS
from bitloot_runtime.db import UnitOfWork, create_engine, migrate
from bitloot_runtime.tables import outbox
from bitloot_testing.net import free_port
from bitloot_testing.smtp import SmtpServer

LINKS = RevealLinks(LINK_SECRET, timedelta(minutes=15))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(database_url, metadata, [VERSIONS])
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def sender(engine: AsyncEngine, mailer: SmtpMailer, max_attempts: int = 8) -> EmailSender:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return EmailSender(
        unit_of_work=lambda: UnitOfWork(sessions),
        mailer=mailer,
        links=LINKS,
        public_url=PUBLIC_URL,
        mail_from="keys@bitloot.test",
        max_attempts=max_attempts,
        backoff=lambda attempts: timedelta(0),
    )


async def stored_delivery(engine: AsyncEngine) -> UUID:
    order_id = uuid4()
    async with UnitOfWork(async_sessionmaker(engine)) as uow:
        await DeliveryRepository(uow.session).add(
            NewDelivery(order_id, "buyer@example.com", "K-1", "k1", b"wrapped", "o/k.bin", 1),
            [DeliveredKey("text/plain", "unused", "5c9b")],
        )
        await uow.commit()
    return order_id


async def outbox_topics(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(outbox.c.topic))).scalars())


async def test_a_due_email_is_sent_once_and_completes_the_delivery(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)
    emailer = sender(engine, SmtpMailer(smtp_inbox.host, smtp_inbox.port))
    assert await emailer.send_next() is True
    assert await emailer.send_next() is False
    [received] = smtp_inbox.messages
    assert received.message["Subject"] == "Your BitLoot keys are ready"
    assert await outbox_topics(engine) == ["delivery.completed"]
    async with engine.connect() as connection:
        body = await connection.scalar(select(outbox.c.body))
        mail = (await connection.execute(select(emails))).mappings().one()
        emailed_at = await connection.scalar(select(deliveries.c.emailed_at))
    assert json.loads(body or b"{}")["order_id"] == str(order_id)
    assert (mail["status"], mail["attempts"]) == ("sent", 1)
    assert mail["sent_at"] is not None
    assert emailed_at is not None


async def test_a_refused_email_is_retried_then_fails_the_delivery(engine: AsyncEngine) -> None:
    await stored_delivery(engine)
    emailer = sender(engine, SmtpMailer("127.0.0.1", free_port(), timeout=2), max_attempts=2)
    assert await emailer.send_next() is True
    async with engine.connect() as connection:
        first = (await connection.execute(select(emails))).mappings().one()
    assert (first["status"], first["attempts"]) == ("pending", 1)
    assert first["last_error"]
    assert await emailer.send_next() is True
    assert await emailer.send_next() is False
    async with engine.connect() as connection:
        last = (await connection.execute(select(emails))).mappings().one()
        failure = await connection.scalar(select(outbox.c.body))
    assert (last["status"], last["attempts"]) == ("failed", 2)
    assert await outbox_topics(engine) == ["delivery.failed"]
    assert json.loads(failure or b"{}")["code"] == "email_failed"
