"""The email sender: a due email goes out once with delivery.completed; a refused one is
retried, then failed with delivery.failed; an outcome is recorded even when the
database is away at that moment. An attempt cut before DATA is sent again; one cut
during DATA is sent once more with the same Message-ID after the lease, then left
unconfirmed; DATA is never sent unless its stage was committed first. A delay notice is
retried the same way but completes and fails nothing, and is withdrawn if the keys
overtake it."""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any
from uuid import UUID, uuid4

import pytest
from delivery_support import (
    CLAIM_LINKS,
    LINKS,
    PUBLIC_URL,
    completions,
    cut_off_smtp,
    running,
    stored_delivery,
    the_email,
)
from prometheus_client import CollectorRegistry
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_contracts.events import DeliveryCompleted
from bitloot_delivery.adapters.mailer import BeforeData, SmtpMailer
from bitloot_delivery.adapters.orm import deliveries, emails
from bitloot_delivery.adapters.unit_of_work import DeliveryUnitOfWork
from bitloot_delivery.adapters.views import email_log, timeline
from bitloot_delivery.domain.emails import EmailKind, new_message_id
from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.notices import DelayNotice
from bitloot_delivery.domain.summaries import OrderSummary
from bitloot_delivery.handlers.ports import ClaimedEmail, NewDelivery
from bitloot_delivery.handlers.send_email import EmailSender, _attempt_span
from bitloot_delivery.metrics import DeliveryMetrics
from bitloot_runtime import telemetry
from bitloot_runtime.db import asyncpg_dsn, create_engine
from bitloot_runtime.tables import outbox
from bitloot_testing.bus import eventually
from bitloot_testing.net import free_port
from bitloot_testing.proxy import through_proxy
from bitloot_testing.smtp import SmtpServer


def sender(
    engine: AsyncEngine,
    mailer: SmtpMailer | SmtpServer,
    max_attempts: int = 8,
    lease: timedelta = timedelta(minutes=10),
    concurrency: int = 1,
    metrics: DeliveryMetrics | None = None,
    cls: type[EmailSender] = EmailSender,
    unit_of_work: Callable[[], DeliveryUnitOfWork] | None = None,
) -> EmailSender:
    if isinstance(mailer, SmtpServer):
        mailer = SmtpMailer(mailer.host, mailer.port)
    return cls(
        unit_of_work=unit_of_work or (lambda: DeliveryUnitOfWork(engine)),
        mailer=mailer,
        links=LINKS,
        claim_links=CLAIM_LINKS,
        public_url=PUBLIC_URL,
        mail_from="keys@bitloot.test",
        support_email="support@bitloot.test",
        max_attempts=max_attempts,
        backoff=lambda attempts: timedelta(0),
        lease=lease,
        concurrency=concurrency,
        metrics=metrics,
    )


def refusing() -> SmtpMailer:
    """A client of a port no server listens on: every attempt is refused."""
    return SmtpMailer("127.0.0.1", free_port(), timeout=2)


async def drain(emailer: EmailSender) -> int:
    """Send until none is due: how many emails were tried."""
    tried = 0
    while await emailer.send_next():
        tried += 1
    return tried


async def outbox_topics(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(outbox.c.topic))).scalars())


async def outbox_bodies(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        return [json.loads(body) for body in await connection.scalars(select(outbox.c.body))]


async def sent_while_running(emailer: EmailSender, smtp: SmtpServer, count: int) -> None:
    """Run the sender's loop until the server has `count` emails, and a moment longer:
    anything sent twice would have arrived by then."""
    async with running(emailer.run(poll_seconds=30)):

        async def all_arrived() -> bool:
            return len(smtp.messages) == count

        assert await eventually(all_arrived, timeout=30)
        await asyncio.sleep(0.3)
    assert len(smtp.messages) == count


async def test_a_due_email_is_sent_once_and_completes_the_delivery(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)
    assert await drain(sender(engine, smtp_inbox)) == 1
    [received] = smtp_inbox.messages
    assert received.message["Subject"] == "Your BitLoot keys are ready"
    # Mail systems and tests tell a key email from a notice by this header, not its words.
    assert received.message["X-BitLoot-Email"] == "delivery"
    assert await outbox_topics(engine) == ["delivery.completed"]
    assert await completions(engine) == [(str(order_id), True)]
    mail = await the_email(engine, None)
    assert (mail["status"], mail["attempts"]) == ("sent", 1)
    assert mail["sent_at"] is not None
    async with engine.connect() as connection:
        assert await connection.scalar(select(deliveries.c.emailed_at)) is not None


async def test_a_refused_email_is_retried_then_fails_the_delivery(engine: AsyncEngine) -> None:
    await stored_delivery(engine)
    emailer = sender(engine, refusing(), max_attempts=2)
    assert await emailer.send_next() is True
    first = await the_email(engine)
    assert (first["status"], first["attempts"]) == ("pending", 1)
    assert first["last_error"]
    assert await drain(emailer) == 1
    last = await the_email(engine, None)
    assert (last["status"], last["attempts"]) == ("failed", 2)
    assert await outbox_topics(engine) == ["delivery.failed"]
    [failure] = await outbox_bodies(engine)
    assert failure["code"] == "email_failed"


async def test_a_queued_email_wakes_the_sender_without_waiting_for_the_poll(
    engine: AsyncEngine, smtp_inbox: SmtpServer, database_url: str
) -> None:
    emailer = sender(engine, smtp_inbox)
    # An hour's poll: only the NOTIFY of a queued email can wake the loop in time.
    async with running(emailer.run(asyncpg_dsn(database_url), poll_seconds=3600)):
        await stored_delivery(engine)
        await smtp_inbox.wait_for(1)
        await stored_delivery(engine)
        await smtp_inbox.wait_for(2)

        # The server has the message a moment before the sender records it as sent.
        async def both_recorded() -> bool:
            return len(await outbox_topics(engine)) == 2

        assert await eventually(both_recorded)
    assert await outbox_topics(engine) == ["delivery.completed", "delivery.completed"]


async def claim_and_crash(engine: AsyncEngine, *, reached_data: bool = False) -> ClaimedEmail:
    """What a sender that died while talking to the mail server leaves behind: before
    DATA, or (`reached_data`) once it had committed that DATA begins."""
    async with DeliveryUnitOfWork(engine) as uow:
        log = uow.emails
        claimed, _ = await log.claim_due(new_message_id("keys@bitloot.test"))
        assert claimed is not None
        if reached_data:
            assert await log.reach_data(claimed)
        await uow.commit()
    return claimed


async def test_an_attempt_cut_before_data_is_sent_again_after_the_lease_with_its_message_id(
    engine: AsyncEngine, smtp_inbox: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = await stored_delivery(engine)
    claimed = await claim_and_crash(engine)
    assert await sender(engine, smtp_inbox).recover_stale() == 0  # its lease is not over
    assert await sender(engine, smtp_inbox).send_next() is False
    emailer = sender(engine, smtp_inbox, lease=timedelta(0))
    assert await emailer.recover_stale() == 1
    assert await drain(emailer) == 1
    [received] = smtp_inbox.messages
    mail = await the_email(engine)
    assert received.message["Message-ID"] == mail["message_id"] == claimed.message_id
    assert (mail["status"], mail["attempts"], mail["smtp_stage"]) == ("sent", 2, "data")
    assert (mail["recovered_attempts"], mail["doubtful_resends"]) == (1, 0)
    assert await completions(engine) == [(str(order_id), True)]
    assert "email attempt cut before DATA; sending it again" in caplog.messages


async def taken_back(
    engine: AsyncEngine, smtp: SmtpServer, *, reached_data: bool = False
) -> tuple[UUID, ClaimedEmail, EmailSender]:
    """A delivery whose sender died (during DATA if `reached_data`), its attempt taken
    back after the lease by a new sender (lease 0), which is returned."""
    order_id = await stored_delivery(engine)
    claimed = await claim_and_crash(engine, reached_data=reached_data)
    emailer = sender(engine, smtp, lease=timedelta(0))
    assert await emailer.recover_stale() == 1
    return order_id, claimed, emailer


async def test_an_outcome_arriving_after_the_attempt_was_taken_back_changes_nothing(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    _, claimed, _ = await taken_back(engine, smtp_inbox)
    async with DeliveryUnitOfWork(engine) as uow:
        assert await uow.emails.finish_sent(claimed) is False
        assert await uow.emails.reach_data(claimed) is False
        await uow.commit()
    async with engine.connect() as connection:
        assert await connection.scalar(select(emails.c.status)) == "pending"
        assert await connection.scalar(select(deliveries.c.emailed_at)) is None


async def test_the_events_of_an_outcome_arriving_after_the_attempt_was_taken_back_are_dropped(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id, claimed, _ = await taken_back(engine, smtp_inbox)
    completed = DeliveryCompleted(order_id=order_id, key_count=1, email_sent=True)
    async with DeliveryUnitOfWork(engine) as uow:
        assert await uow.emails.finish_sent(claimed, [completed]) is False
        await uow.commit()
    assert await completions(engine) == []


async def test_an_attempt_cut_during_data_is_sent_once_more_with_its_message_id(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id, claimed, emailer = await taken_back(engine, smtp_inbox, reached_data=True)
    assert await emailer.send_next() is True
    [received] = smtp_inbox.messages
    mail = await the_email(engine)
    assert received.message["Message-ID"] == mail["message_id"] == claimed.message_id
    assert (mail["status"], mail["recovered_attempts"], mail["doubtful_resends"]) == (
        "sent",
        0,
        1,
    )
    assert await completions(engine) == [(str(order_id), True)]


async def test_an_attempt_cut_during_data_after_its_one_resend_is_unconfirmed(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id, claimed, emailer = await taken_back(engine, smtp_inbox, reached_data=True)
    await claim_and_crash(engine, reached_data=True)
    assert await emailer.recover_stale() == 1
    assert await emailer.send_next() is False
    assert await emailer.recover_stale() == 0
    assert smtp_inbox.messages == []
    mail = await the_email(engine)
    assert (mail["status"], mail["message_id"]) == ("unconfirmed", claimed.message_id)
    assert (mail["attempts"], mail["doubtful_resends"], mail["smtp_stage"]) == (2, 1, "data")
    assert "during DATA again" in str(mail["last_error"])
    assert await completions(engine) == [(str(order_id), False)]


async def test_an_attempt_of_an_older_sender_that_recorded_no_stage_counts_as_during_data(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    await stored_delivery(engine)
    await claim_and_crash(engine)
    async with engine.begin() as connection:
        await connection.execute(update(emails).values(smtp_stage=None))
    emailer = sender(engine, smtp_inbox, lease=timedelta(0))
    assert await emailer.recover_stale() == 1
    mail = await the_email(engine)
    assert (mail["status"], mail["recovered_attempts"], mail["doubtful_resends"]) == (
        "pending",
        0,
        1,
    )


async def test_a_resend_is_a_second_email_but_not_a_second_delivery(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)
    emailer = sender(engine, smtp_inbox)
    assert await emailer.send_next() is True
    async with DeliveryUnitOfWork(engine) as uow:
        log = uow.emails
        assert await log.queue(order_id, EmailKind.DELIVERY, "buyer@example.com") is None
        assert await log.queue(order_id, EmailKind.RESEND, "buyer@example.com") is not None
        await uow.commit()
    assert await drain(emailer) == 1
    subjects = [received.message["Subject"] for received in smtp_inbox.messages]
    assert subjects == ["Your BitLoot keys are ready", "A new link to your BitLoot keys"]
    assert await outbox_topics(engine) == ["delivery.completed"]


async def test_two_senders_side_by_side_send_each_email_once(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    orders = {await stored_delivery(engine) for _ in range(6)}
    first, second = sender(engine, smtp_inbox), sender(engine, smtp_inbox)
    counts = await asyncio.gather(drain(first), drain(second))
    assert sum(counts) == 6
    assert len(smtp_inbox.messages) == 6
    bodies = await outbox_bodies(engine)
    assert {UUID(body["order_id"]) for body in bodies} == orders
    assert len(bodies) == 6


class OverlapMailer(SmtpMailer):
    """A real SMTP client that notes how many conversations it holds at once."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.open = 0
        self.most_open = 0

    async def send(self, message: EmailMessage, before_data: BeforeData | None = None) -> None:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await asyncio.sleep(0.05)  # a mail server's round trips, long enough to overlap
            await super().send(message, before_data)
        finally:
            self.open -= 1


async def test_one_sender_holds_several_conversations_and_sends_each_email_once(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    orders = {await stored_delivery(engine) for _ in range(12)}
    mailer = OverlapMailer(smtp_inbox.host, smtp_inbox.port)
    await sent_while_running(sender(engine, mailer, concurrency=4), smtp_inbox, 12)
    assert 1 < mailer.most_open <= 4
    bodies = await outbox_bodies(engine)
    async with engine.connect() as connection:
        statuses = (await connection.execute(select(emails.c.status))).scalars().all()
    assert {UUID(body["order_id"]) for body in bodies} == orders
    assert len(bodies) == 12
    assert set(statuses) == {"sent"}


async def _nothing() -> None:
    pass


class HookedMailer(SmtpMailer):
    """A real SMTP client that awaits `at_data` just before the sender commits that DATA
    begins (the recipients are accepted by then), and `after` once the server has taken
    the message (the sender learns the outcome and must record it)."""

    def __init__(
        self,
        smtp: SmtpServer,
        *,
        at_data: Callable[[], Awaitable[None]] = _nothing,
        after: Callable[[], Awaitable[None]] = _nothing,
    ) -> None:
        super().__init__(smtp.host, smtp.port)
        self._at_data = at_data
        self._after = after

    async def send(self, message: EmailMessage, before_data: BeforeData | None = None) -> None:
        assert before_data is not None

        async def hooked() -> None:
            await self._at_data()
            await before_data()

        await super().send(message, hooked)
        await self._after()


async def send_with_database_cut(database_url: str, smtp: SmtpServer, *, at_data: bool) -> None:
    """One attempt by a sender whose database goes away for 1.5 s mid-attempt: just before
    it commits that DATA begins (`at_data`), or once the server has taken the message."""
    async with through_proxy(database_url) as (database, proxied_url):

        async def cut() -> None:
            await database.down()
            loop = asyncio.get_running_loop()
            loop.call_later(1.5, lambda: asyncio.ensure_future(database.up()))

        proxied = create_engine(proxied_url)
        mailer = HookedMailer(smtp, at_data=cut) if at_data else HookedMailer(smtp, after=cut)
        try:
            assert await sender(proxied, mailer).send_next() is True
        finally:
            await proxied.dispose()


async def test_an_email_sent_while_the_database_is_away_is_recorded_once_it_is_back(
    engine: AsyncEngine, database_url: str, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)
    await send_with_database_cut(database_url, smtp_inbox, at_data=False)
    assert len(smtp_inbox.messages) == 1
    mail = await the_email(engine, None)
    assert (mail["status"], mail["attempts"]) == ("sent", 1)
    assert await outbox_topics(engine) == ["delivery.completed"]
    assert await completions(engine) == [(str(order_id), True)]


async def test_an_email_cut_off_during_data_waits_the_lease_then_goes_once_more(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)
    lease = timedelta(seconds=1)
    with cut_off_smtp("DATA") as (port, taken):
        emailer = sender(engine, SmtpMailer("127.0.0.1", port, timeout=5), lease=lease)
        assert await emailer.send_next() is True
        assert await emailer.send_next() is False  # not due before the lease is over
    parked = await the_email(engine)
    assert (parked["status"], parked["smtp_stage"], parked["doubtful_resends"]) == (
        "pending",
        "data",
        1,
    )
    assert "Cut short during DATA" in str(parked["last_error"])
    assert await completions(engine) == []
    await asyncio.sleep(lease.total_seconds())
    resender = sender(engine, smtp_inbox, lease=lease)
    assert await resender.send_next() is True
    [first] = taken
    [second] = smtp_inbox.messages
    mail = await the_email(engine)
    assert message_id_of(first) == second.message["Message-ID"] == mail["message_id"]
    assert (mail["status"], mail["attempts"], mail["doubtful_resends"]) == ("sent", 2, 1)
    assert await completions(engine) == [(str(order_id), True)]


async def test_an_email_cut_off_during_data_twice_is_unconfirmed_and_completes_once(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = await stored_delivery(engine)
    with cut_off_smtp("DATA") as (port, taken):
        emailer = sender(engine, SmtpMailer("127.0.0.1", port, timeout=5), lease=timedelta(0))
        assert await drain(emailer) == 2  # the one resend, due at once (no lease)
        assert await emailer.recover_stale() == 0
    assert len(taken) == 2
    assert message_id_of(taken[0]) == message_id_of(taken[1])
    mail = await the_email(engine)
    assert (mail["status"], mail["attempts"], mail["doubtful_resends"]) == ("unconfirmed", 2, 1)
    assert message_id_of(taken[0]) == mail["message_id"]
    assert await completions(engine) == [(str(order_id), False)]
    [entry] = await email_log(engine, order_id)
    assert (entry["status"], entry["smtp_stage"], entry["doubtful_resends"]) == (
        "unconfirmed",
        "data",
        1,
    )
    kinds = [item.kind for item in await timeline(engine, order_id)]
    assert kinds[-1] == "email_unconfirmed"
    [doubt] = [r for r in caplog.records if "unconfirmed" in r.getMessage()]
    assert doubt.levelno == logging.ERROR


async def test_data_is_not_sent_when_its_stage_cannot_be_committed(
    engine: AsyncEngine, database_url: str, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)
    await send_with_database_cut(database_url, smtp_inbox, at_data=True)
    assert smtp_inbox.messages == []
    mail = await the_email(engine)
    assert (mail["status"], mail["attempts"], mail["smtp_stage"]) == ("pending", 1, "before_data")
    assert "DATA not sent" in str(mail["last_error"])
    emailer = sender(engine, smtp_inbox)
    assert await emailer.send_next() is True
    [received] = smtp_inbox.messages
    assert received.message["Message-ID"] == mail["message_id"]
    assert await completions(engine) == [(str(order_id), True)]


async def test_a_sender_whose_attempt_was_taken_back_does_not_send_data(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored_delivery(engine)

    async def overtaken() -> None:
        # Another sender takes the attempt back as stale (this one hung past the lease).
        assert await sender(engine, smtp_inbox, lease=timedelta(0)).recover_stale() == 1

    assert await sender(engine, HookedMailer(smtp_inbox, at_data=overtaken)).send_next() is True
    assert smtp_inbox.messages == []
    taken_back = await the_email(engine)
    assert (taken_back["status"], taken_back["recovered_attempts"]) == ("pending", 1)
    assert await sender(engine, smtp_inbox).send_next() is True
    assert len(smtp_inbox.messages) == 1
    assert await completions(engine) == [(str(order_id), True)]


async def queued_notice(engine: AsyncEngine, order_id: UUID | None = None) -> UUID:
    """A preorder's delay notice, queued before the order has any delivery row."""
    order_id = order_id or uuid4()
    notice = DelayNotice(is_preorder=True, release_date=date(2026, 12, 24))
    async with DeliveryUnitOfWork(engine) as uow:
        queued = await uow.emails.queue(order_id, EmailKind.DELAYED, "buyer@example.com", notice)
        await uow.commit()
    assert queued is not None
    return order_id


async def test_a_refused_delay_notice_is_retried_then_sent_and_emits_nothing(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    await queued_notice(engine)
    assert await sender(engine, refusing()).send_next()
    first = await the_email(engine, None)
    assert (first["status"], first["attempts"]) == ("pending", 1)
    assert first["last_error"]
    assert await drain(sender(engine, smtp_inbox)) == 1
    [received] = smtp_inbox.messages
    assert received.message["Subject"] == "Your BitLoot preorder: keys on 24 December 2026"
    assert received.message["X-BitLoot-Email"] == "delayed"
    last = await the_email(engine, None)
    assert (last["status"], last["attempts"]) == ("sent", 2)
    assert received.message["Message-ID"] == last["message_id"] == first["message_id"]
    assert await outbox_topics(engine) == []


async def test_a_delay_notice_refused_for_good_is_logged_not_a_failed_delivery(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await queued_notice(engine)
    emailer = sender(engine, refusing(), max_attempts=2)
    assert await drain(emailer) == 2
    mail = await the_email(engine, None)
    assert (mail["kind"], mail["status"], mail["attempts"]) == ("delayed", "failed", 2)
    assert await outbox_topics(engine) == []
    [failed] = [r for r in caplog.records if r.getMessage() == "email failed for good"]
    assert (failed.levelno, failed.__dict__["email_kind"]) == (logging.ERROR, "delayed")
    assert "buyer@example.com" not in caplog.text


async def test_a_delay_notice_still_waiting_when_the_keys_come_is_never_sent(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    order_id = await queued_notice(engine)
    async with DeliveryUnitOfWork(engine) as uow:
        await uow.deliveries.add(
            NewDelivery(order_id, "buyer@example.com", "K-1", "k1", b"wrapped", "o/k.bin", 1),
            [DeliveredKey("text/plain", "unused", "5c9b")],
        )
        await uow.commit()
    assert await drain(sender(engine, smtp_inbox)) == 1
    assert [r.message["Subject"] for r in smtp_inbox.messages] == ["Your BitLoot keys are ready"]
    async with engine.connect() as connection:
        rows = (await connection.execute(select(emails.c.kind, emails.c.status))).all()
    assert sorted(rows) == [("delayed", "superseded"), ("delivery", "sent")]
    assert await outbox_topics(engine) == ["delivery.completed"]


async def other_email(engine: AsyncEngine, kind: EmailKind) -> None:
    """An email of `kind` due for an order whose delivery email is already out."""
    if kind is EmailKind.DELAYED:
        await queued_notice(engine)
        return
    order_id = await stored_delivery(engine)
    async with engine.begin() as connection:
        await connection.execute(update(emails).values(status="sent"))
    async with DeliveryUnitOfWork(engine) as uow:
        assert await uow.emails.queue(order_id, kind, "buyer@example.com")
        await uow.commit()


@pytest.mark.parametrize("kind", [EmailKind.RESEND, EmailKind.FRESH_LINK, EmailKind.DELAYED])
async def test_every_kind_cut_before_data_is_sent_again_and_completes_nothing(
    engine: AsyncEngine, smtp_inbox: SmtpServer, kind: EmailKind
) -> None:
    await other_email(engine, kind)
    claimed = await claim_and_crash(engine)
    assert claimed.kind is kind
    emailer = sender(engine, smtp_inbox, lease=timedelta(0))
    assert await emailer.recover_stale() == 1
    assert await emailer.send_next() is True
    [received] = smtp_inbox.messages
    assert received.message["Message-ID"] == claimed.message_id
    mail = await the_email(engine, kind.value)
    assert (mail["status"], mail["recovered_attempts"]) == ("sent", 1)
    assert await completions(engine) == []


@pytest.mark.parametrize("kind", [EmailKind.RESEND, EmailKind.FRESH_LINK, EmailKind.DELAYED])
async def test_every_kind_cut_during_data_twice_is_unconfirmed_and_completes_nothing(
    engine: AsyncEngine, kind: EmailKind
) -> None:
    await other_email(engine, kind)
    with cut_off_smtp("DATA") as (port, taken):
        emailer = sender(engine, SmtpMailer("127.0.0.1", port, timeout=5), lease=timedelta(0))
        assert await drain(emailer) == 2
    assert len({message_id_of(raw) for raw in taken}) == 1
    assert len(taken) == 2
    mail = await the_email(engine, kind.value)
    assert (mail["status"], mail["doubtful_resends"]) == ("unconfirmed", 1)
    assert await completions(engine) == []


def message_id_of(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=default)["Message-ID"])


class CountingSender(EmailSender):
    """A sender that counts its claims (each a transaction)."""

    claims = 0

    async def _claim(self) -> tuple[ClaimedEmail | None, bool]:
        self.claims += 1
        return await super()._claim()


async def test_one_queued_email_costs_one_claim_however_many_conversations_are_allowed(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    await stored_delivery(engine)
    emailer = sender(engine, smtp_inbox, concurrency=8, cls=CountingSender)
    assert isinstance(emailer, CountingSender)
    await sent_while_running(emailer, smtp_inbox, 1)
    assert emailer.claims == 1


async def test_a_queue_is_worked_through_with_each_next_email_claimed_as_the_last_is_sent(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    """Three emails queued, one conversation: one claim of its own, then each next email
    claimed in the transaction that records the one before as sent: two transactions per
    email (its claim, with the previous outcome; its DATA stage), and the last outcome."""
    orders = {await stored_delivery(engine) for _ in range(3)}
    units: list[DeliveryUnitOfWork] = []  # every unit of work opened: each a transaction

    def unit_of_work() -> DeliveryUnitOfWork:
        units.append(DeliveryUnitOfWork(engine))
        return units[-1]

    emailer = sender(engine, smtp_inbox, cls=CountingSender, unit_of_work=unit_of_work)
    assert isinstance(emailer, CountingSender)
    await emailer._send_all_due()  # what the loop does when woken, until none is due
    assert len(smtp_inbox.messages) == 3
    assert (emailer.claims, len(units)) == (1, 1 + 3 + 3)
    assert sorted(await completions(engine)) == sorted((str(order), True) for order in orders)
    async with engine.connect() as connection:
        statuses = (await connection.execute(select(emails.c.status))).scalars().all()
    assert statuses == ["sent"] * 3


async def test_an_accepted_key_email_is_counted_once_with_its_time_since_payment(
    engine: AsyncEngine, smtp_inbox: SmtpServer
) -> None:
    registry = CollectorRegistry()
    metrics = DeliveryMetrics(registry)
    order_id = await stored_delivery(engine)
    async with DeliveryUnitOfWork(engine) as uow:
        summary = OrderSummary(Decimal(5), "usd", ())
        paid = datetime.now(UTC) - timedelta(seconds=90)
        await uow.summaries.record(order_id, summary, paid)
        await uow.commit()
    await metrics.refresh(engine)
    assert registry.get_sample_value("bitloot_emails_unsent") == 1
    assert (registry.get_sample_value("bitloot_oldest_unsent_email_seconds") or 0) >= 0
    assert await drain(sender(engine, smtp_inbox, metrics=metrics)) == 1
    accepted = {"kind": "delivery", "outcome": "accepted"}
    assert registry.get_sample_value("bitloot_emails_total", accepted) == 1
    assert registry.get_sample_value("bitloot_time_to_key_seconds_count") == 1
    assert (registry.get_sample_value("bitloot_time_to_key_seconds_sum") or 0) >= 90
    assert registry.get_sample_value("bitloot_time_to_key_seconds_bucket", {"le": "60.0"}) == 0
    await metrics.refresh(engine)
    assert registry.get_sample_value("bitloot_emails_unsent") == 0
    assert registry.get_sample_value("bitloot_oldest_unsent_email_seconds") == 0


async def test_refused_attempts_are_counted_then_the_final_one_as_failed(
    engine: AsyncEngine,
) -> None:
    registry = CollectorRegistry()
    metrics = DeliveryMetrics(registry)
    await stored_delivery(engine)
    mailer = refusing()
    emailer = sender(engine, mailer, max_attempts=2, metrics=metrics)
    assert await emailer.send_next() is True
    assert await emailer.send_next() is True
    for outcome in ("refused", "failed"):
        labels = {"kind": "delivery", "outcome": outcome}
        assert registry.get_sample_value("bitloot_emails_total", labels) == 1
    assert registry.get_sample_value("bitloot_time_to_key_seconds_count") == 0


def test_with_tracing_off_an_attempt_runs_in_no_span_at_all() -> None:
    # No attributes built, no generator entered per attempt: the shared no-op context.
    email = ClaimedEmail(
        id=1,
        order_id=uuid4(),
        kind=EmailKind.DELIVERY,
        to_address="buyer@example.com",
        attempts=1,
        key_count=1,
        message_id="<m@bitloot>",
        claimed_at=datetime.now(UTC),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    assert not telemetry.enabled()
    assert _attempt_span(email) is telemetry.NO_SPAN
