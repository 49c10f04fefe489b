"""The email sender: a due email goes out once with delivery.completed; a refused one is
retried, then failed with delivery.failed; an outcome is recorded even when the
database is away at that moment. A delay notice is retried the same way but completes
and fails nothing, and is withdrawn if the keys overtake it."""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta
from email.message import EmailMessage
from uuid import UUID, uuid4

import pytest
from delivery_support import CLAIM_LINKS, LINK_SECRET, PUBLIC_URL, cut_off_smtp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bitloot_delivery.adapters.email_log import ClaimedEmail, EmailLog
from bitloot_delivery.adapters.mailer import SmtpMailer
from bitloot_delivery.adapters.orm import deliveries, emails, metadata
from bitloot_delivery.adapters.repository import DeliveryRepository, NewDelivery
from bitloot_delivery.domain.emails import EmailKind, new_message_id
from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.links import RevealLinks
from bitloot_delivery.domain.notices import DelayNotice
from bitloot_delivery.handlers.send_email import EmailSender
from bitloot_delivery.migrations import VERSIONS
from bitloot_runtime.db import UnitOfWork, asyncpg_dsn, create_engine, migrate
from bitloot_runtime.tables import outbox
from bitloot_testing.bus import eventually
from bitloot_testing.net import free_port
from bitloot_testing.proxy import FaultyProxy, through_proxy
from bitloot_testing.smtp import SmtpServer

LINKS = RevealLinks(LINK_SECRET, timedelta(minutes=15))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(database_url, metadata, [VERSIONS])
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def sender(
    engine: AsyncEngine,
    mailer: SmtpMailer,
    max_attempts: int = 8,
    lease: timedelta = timedelta(minutes=10),
) -> EmailSender:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return EmailSender(
        unit_of_work=lambda: UnitOfWork(sessions),
        mailer=mailer,
        links=LINKS,
        claim_links=CLAIM_LINKS,
        public_url=PUBLIC_URL,
        mail_from="keys@bitloot.test",
        max_attempts=max_attempts,
        backoff=lambda attempts: timedelta(0),
        lease=lease,
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


async def test_a_queued_email_wakes_the_sender_without_waiting_for_the_poll(
    engine: AsyncEngine, smtp_inbox: SmtpServer, database_url: str
) -> None:
    emailer = sender(engine, SmtpMailer(smtp_inbox.host, smtp_inbox.port))
    # An hour's poll: only the NOTIFY of a queued email can wake the loop in time.
    loop = asyncio.create_task(emailer.run(asyncpg_dsn(database_url), poll_seconds=3600))
    try:
        await stored_delivery(engine)
        await smtp_inbox.wait_for(1)
        await stored_delivery(engine)
        await smtp_inbox.wait_for(2)

        # The server has the message a moment before the sender records it as sent.
        async def both_recorded() -> bool:
            return len(await outbox_topics(engine)) == 2

        assert await eventually(both_recorded)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    assert await outbox_topics(engine) == ["delivery.completed", "delivery.completed"]


async def claim_and_crash(engine: AsyncEngine) -> ClaimedEmail:
    """What a sender that died while talking to the mail server leaves behind."""
    async with UnitOfWork(async_sessionmaker(engine)) as uow:
        claimed = await EmailLog(uow.session).claim_next(new_message_id("keys@bitloot.test"))
        await uow.commit()
    assert claimed is not None
    return claimed


async def test_an_attempt_cut_short_is_declared_unconfirmed_and_never_resent(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)
    claimed = await claim_and_crash(engine)
    emailer = sender(engine, SmtpMailer(smtp_inbox.host, smtp_inbox.port), lease=timedelta(0))
    assert await emailer.abandon_stale() == 1
    assert await emailer.send_next() is False
    assert await emailer.abandon_stale() == 0
    assert smtp_inbox.messages == []
    async with engine.connect() as connection:
        mail = (await connection.execute(select(emails))).mappings().one()
        body = json.loads(await connection.scalar(select(outbox.c.body)) or b"{}")
    assert (mail["status"], mail["message_id"]) == ("unconfirmed", claimed.message_id)
    assert mail["last_error"]
    assert await outbox_topics(engine) == ["delivery.completed"]
    assert (body["order_id"], body["email_sent"]) == (str(order_id), False)


async def test_an_outcome_arriving_after_the_attempt_was_abandoned_changes_nothing(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    await stored_delivery(engine)
    claimed = await claim_and_crash(engine)
    emailer = sender(engine, SmtpMailer(smtp_inbox.host, smtp_inbox.port), lease=timedelta(0))
    await emailer.abandon_stale()
    async with UnitOfWork(async_sessionmaker(engine)) as uow:
        assert await EmailLog(uow.session).finish_sent(claimed) is False
        await uow.commit()
    async with engine.connect() as connection:
        assert await connection.scalar(select(emails.c.status)) == "unconfirmed"
        assert await connection.scalar(select(deliveries.c.emailed_at)) is None


async def test_a_resend_is_a_second_email_but_not_a_second_delivery(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)
    emailer = sender(engine, SmtpMailer(smtp_inbox.host, smtp_inbox.port))
    assert await emailer.send_next() is True
    async with UnitOfWork(async_sessionmaker(engine)) as uow:
        log = EmailLog(uow.session)
        assert await log.queue(order_id, EmailKind.DELIVERY, "buyer@example.com") is None
        assert await log.queue(order_id, EmailKind.RESEND, "buyer@example.com") is not None
        await uow.commit()
    assert await emailer.send_next() is True
    assert await emailer.send_next() is False
    subjects = [received.message["Subject"] for received in smtp_inbox.messages]
    assert subjects == ["Your BitLoot keys are ready", "A new link to your BitLoot keys"]
    assert await outbox_topics(engine) == ["delivery.completed"]


async def test_two_senders_side_by_side_send_each_email_once(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    orders = {await stored_delivery(engine) for _ in range(6)}
    mailer = SmtpMailer(smtp_inbox.host, smtp_inbox.port)
    first, second = sender(engine, mailer), sender(engine, mailer)

    async def drain(emailer: EmailSender) -> int:
        sent = 0
        while await emailer.send_next():
            sent += 1
        return sent

    counts = await asyncio.gather(drain(first), drain(second))
    assert sum(counts) == 6
    assert len(smtp_inbox.messages) == 6
    async with engine.connect() as connection:
        bodies = (await connection.execute(select(outbox.c.body))).scalars().all()
    assert {UUID(json.loads(body)["order_id"]) for body in bodies} == orders
    assert len(bodies) == 6


class CuttingMailer(SmtpMailer):
    """A real SMTP client that, once the server has taken the message, cuts the database
    away for `outage` seconds: the moment a sender learns the outcome and must record it."""

    def __init__(self, host: str, port: int, database: FaultyProxy, outage: float) -> None:
        super().__init__(host, port)
        self._database = database
        self._outage = outage

    async def send(self, message: EmailMessage) -> None:
        await super().send(message)
        await self._database.down()
        asyncio.get_running_loop().call_later(
            self._outage, lambda: asyncio.ensure_future(self._database.up())
        )


async def test_an_email_sent_while_the_database_is_away_is_recorded_once_it_is_back(
    engine: AsyncEngine, database_url: str, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)
    async with through_proxy(database_url) as (database, proxied_url):
        proxied = create_engine(proxied_url)
        mailer = CuttingMailer(smtp_inbox.host, smtp_inbox.port, database, outage=1.5)
        try:
            assert await sender(proxied, mailer).send_next() is True
        finally:
            await proxied.dispose()
    assert len(smtp_inbox.messages) == 1
    async with engine.connect() as connection:
        mail = (await connection.execute(select(emails))).mappings().one()
        body = await connection.scalar(select(outbox.c.body))
    assert (mail["status"], mail["attempts"]) == ("sent", 1)
    assert await outbox_topics(engine) == ["delivery.completed"]
    completed = json.loads(body or b"{}")
    assert (completed["order_id"], completed["email_sent"]) == (str(order_id), True)


async def test_an_email_cut_off_while_the_server_took_it_is_never_sent_again(
    engine: AsyncEngine,
) -> None:
    order_id = await stored_delivery(engine)
    with cut_off_smtp("DATA") as (port, taken):
        emailer = sender(engine, SmtpMailer("127.0.0.1", port, timeout=5))
        assert await emailer.send_next() is True
        assert await emailer.send_next() is False  # not due again: it may have arrived
    assert len(taken) == 1
    async with engine.connect() as connection:
        mail = (await connection.execute(select(emails))).mappings().one()
        body = await connection.scalar(select(outbox.c.body))
    assert mail["status"] == "unconfirmed"
    assert "Cut off while the mail server took the message" in mail["last_error"]
    assert await outbox_topics(engine) == ["delivery.completed"]
    completed = json.loads(body or b"{}")
    assert (completed["order_id"], completed["email_sent"]) == (str(order_id), False)


async def queued_notice(engine: AsyncEngine, order_id: UUID | None = None) -> UUID:
    """A preorder's delay notice, queued before the order has any delivery row."""
    order_id = order_id or uuid4()
    notice = DelayNotice(is_preorder=True, release_date=date(2026, 12, 24))
    async with UnitOfWork(async_sessionmaker(engine)) as uow:
        queued = await EmailLog(uow.session).queue(
            order_id, EmailKind.DELAYED, "buyer@example.com", notice
        )
        await uow.commit()
    assert queued is not None
    return order_id


async def test_a_refused_delay_notice_is_retried_then_sent_and_emits_nothing(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    await queued_notice(engine)
    assert await sender(engine, SmtpMailer("127.0.0.1", free_port(), timeout=2)).send_next()
    async with engine.connect() as connection:
        first = (await connection.execute(select(emails))).mappings().one()
    assert (first["status"], first["attempts"]) == ("pending", 1)
    assert first["last_error"]
    emailer = sender(engine, SmtpMailer(smtp_inbox.host, smtp_inbox.port))
    assert await emailer.send_next() is True
    assert await emailer.send_next() is False
    [received] = smtp_inbox.messages
    assert received.message["Subject"] == "Your BitLoot preorder: keys on 24 December 2026"
    async with engine.connect() as connection:
        last = (await connection.execute(select(emails))).mappings().one()
    assert (last["status"], last["attempts"]) == ("sent", 2)
    assert received.message["Message-ID"] == last["message_id"] == first["message_id"]
    assert await outbox_topics(engine) == []


async def test_a_delay_notice_refused_for_good_is_logged_not_a_failed_delivery(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await queued_notice(engine)
    emailer = sender(engine, SmtpMailer("127.0.0.1", free_port(), timeout=2), max_attempts=2)
    assert await emailer.send_next() is True
    assert await emailer.send_next() is True
    assert await emailer.send_next() is False
    async with engine.connect() as connection:
        mail = (await connection.execute(select(emails))).mappings().one()
    assert (mail["kind"], mail["status"], mail["attempts"]) == ("delayed", "failed", 2)
    assert await outbox_topics(engine) == []
    [failed] = [r for r in caplog.records if r.getMessage() == "email failed for good"]
    assert (failed.levelno, failed.__dict__["email_kind"]) == (logging.ERROR, "delayed")
    assert "buyer@example.com" not in caplog.text


async def test_a_delay_notice_still_waiting_when_the_keys_come_is_never_sent(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id = await queued_notice(engine)
    async with UnitOfWork(async_sessionmaker(engine)) as uow:
        await DeliveryRepository(uow.session).add(
            NewDelivery(order_id, "buyer@example.com", "K-1", "k1", b"wrapped", "o/k.bin", 1),
            [DeliveredKey("text/plain", "unused", "5c9b")],
        )
        await uow.commit()
    emailer = sender(engine, SmtpMailer(smtp_inbox.host, smtp_inbox.port))
    assert await emailer.send_next() is True
    assert await emailer.send_next() is False
    assert [r.message["Subject"] for r in smtp_inbox.messages] == ["Your BitLoot keys are ready"]
    async with engine.connect() as connection:
        rows = (await connection.execute(select(emails.c.kind, emails.c.status))).all()
    assert sorted(rows) == [("delayed", "superseded"), ("delivery", "sent")]
    assert await outbox_topics(engine) == ["delivery.completed"]


async def test_a_delay_notice_cut_short_is_unconfirmed_and_completes_nothing(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    await queued_notice(engine)
    claimed = await claim_and_crash(engine)
    assert (claimed.kind, claimed.key_count) == (EmailKind.DELAYED, 0)
    emailer = sender(engine, SmtpMailer(smtp_inbox.host, smtp_inbox.port), lease=timedelta(0))
    assert await emailer.abandon_stale() == 1
    assert await emailer.send_next() is False
    assert smtp_inbox.messages == []
    async with engine.connect() as connection:
        assert await connection.scalar(select(emails.c.status)) == "unconfirmed"
    assert await outbox_topics(engine) == []
