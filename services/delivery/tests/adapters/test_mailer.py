"""The SMTP mailer against a real SMTP server (aiosmtpd): what a failure means depends on
whether the server may already have the message; `before_data` runs just before DATA,
and no DATA is sent if it fails. Messages follow one another on a kept connection; one
the server closed meanwhile is replaced without the message being lost or doubled."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from delivery_support import cut_off_smtp, smtp_handled_by

from bitloot_delivery.adapters.mailer import MailNotSent, MailUncertain, SmtpMailer
from bitloot_testing.net import free_port
from bitloot_testing.smtp import SmtpServer


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "keys@bitloot.test", "a@example.com", "Hi"
    mail.set_content("hello")
    return mail


async def test_a_message_reaches_the_server(smtp_inbox: SmtpServer) -> None:
    await SmtpMailer(smtp_inbox.host, smtp_inbox.port).send(message())
    [received] = await smtp_inbox.wait_for(1)
    assert received.recipients == ("a@example.com",)
    assert received.message["Subject"] == "Hi"


async def test_an_unreachable_server_is_reported_as_not_sent() -> None:
    with pytest.raises(MailNotSent):
        await SmtpMailer("127.0.0.1", free_port(), timeout=2).send(message())


# Lost while the server takes the message: it did have it, so sending again would
# deliver it twice (uncertain); lost before the message began: surely not sent.
@pytest.mark.parametrize(
    ("stage", "error", "taken_count"), [("DATA", MailUncertain, 1), ("RCPT", MailNotSent, 0)]
)
async def test_a_lost_connection_is_uncertain_only_once_the_server_takes_the_message(
    stage: str, error: type[Exception], taken_count: int
) -> None:
    with cut_off_smtp(stage) as (port, taken), pytest.raises(error):
        await SmtpMailer("127.0.0.1", port, timeout=5).send(message())
    assert len(taken) == taken_count


async def test_before_data_is_awaited_once_the_recipients_are_accepted(
    smtp_inbox: SmtpServer,
) -> None:
    calls: list[int] = []

    async def before_data() -> None:
        calls.append(len(smtp_inbox.messages))

    await SmtpMailer(smtp_inbox.host, smtp_inbox.port).send(message(), before_data)
    await smtp_inbox.wait_for(1)
    assert calls == [0]  # called once, before the server had the message


async def test_no_data_is_sent_when_before_data_fails(smtp_inbox: SmtpServer) -> None:
    async def before_data() -> None:
        raise ConnectionError("the database is away")

    with pytest.raises(MailNotSent, match=r"DATA not sent.*the database is away"):
        await SmtpMailer(smtp_inbox.host, smtp_inbox.port).send(message(), before_data)
    assert smtp_inbox.messages == []


async def test_before_data_is_not_called_when_the_connection_is_lost_earlier() -> None:
    calls: list[str] = []

    async def before_data() -> None:
        calls.append("called")

    with cut_off_smtp("RCPT") as (port, _), pytest.raises(MailNotSent):
        await SmtpMailer("127.0.0.1", port, timeout=5).send(message(), before_data)
    assert calls == []


class _Peers:
    """An aiosmtpd handler that takes every message, noting the client's address and port
    each came from (one per connection), and answers 421 to the second MAIL of any
    connection when `close_after_one`, as a server closing idle connections would."""

    def __init__(self, close_after_one: bool = False) -> None:
        self.peers: list[object] = []
        self._close_after_one = close_after_one

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._close_after_one and session.peer in self.peers:
            return "421 4.4.2 Idle for too long; closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.peers.append(session.peer)
        return "250 Message accepted for delivery"


@contextmanager
def peers_noted(
    close_after_one: bool = False, idle_seconds: float = 30.0
) -> Iterator[tuple[SmtpMailer, _Peers]]:
    """A mailer of a `_Peers` server, closed after the block."""
    handler = _Peers(close_after_one)
    with smtp_handled_by(handler) as port:
        mailer = SmtpMailer("127.0.0.1", port, timeout=5, idle_seconds=idle_seconds)
        try:
            yield mailer, handler
        finally:
            mailer.close()


async def test_messages_follow_one_another_on_one_kept_connection() -> None:
    with peers_noted() as (mailer, server):
        for _ in range(3):
            await mailer.send(message())
    assert len(server.peers) == 3
    assert len(set(server.peers)) == 1


async def test_a_kept_connection_the_server_closed_is_replaced_and_the_message_goes_once() -> None:
    calls: list[str] = []

    async def before_data() -> None:
        calls.append("called")

    with peers_noted(close_after_one=True) as (mailer, server):
        await mailer.send(message())
        await mailer.send(message(), before_data)
    assert len(server.peers) == 2
    assert len(set(server.peers)) == 2  # the second went on a new connection
    assert calls == ["called"]  # DATA was reached once, on the new connection


async def test_a_connection_idle_for_too_long_is_not_reused() -> None:
    with peers_noted(idle_seconds=0) as (mailer, server):
        await mailer.send(message())
        await asyncio.sleep(0.01)
        await mailer.send(message())
    assert len(set(server.peers)) == 2


async def test_a_connection_that_failed_is_not_kept() -> None:
    async def before_data() -> None:
        raise ConnectionError("the database is away")

    with peers_noted() as (mailer, server):
        with pytest.raises(MailNotSent):
            await mailer.send(message(), before_data)
        await mailer.send(message())
    assert len(server.peers) == 1


async def test_a_message_to_an_internationalised_address_reaches_a_server_with_smtputf8(
    smtp_inbox: SmtpServer,
) -> None:
    # Checkout accepts josé@…; its key email needs the relay's SMTPUTF8 (RFC 6531).
    mail = message()
    del mail["To"]
    mail["To"] = "josé@例子.广告"
    await SmtpMailer(smtp_inbox.host, smtp_inbox.port).send(mail)
    [received] = await smtp_inbox.wait_for(1)
    assert received.recipients == ("josé@例子.广告",)
