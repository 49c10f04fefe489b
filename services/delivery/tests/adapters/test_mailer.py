"""The SMTP mailer against a real SMTP server (aiosmtpd): what a failure means depends on
whether the server may already have the message; `before_data` runs just before DATA,
and no DATA is sent if it fails."""

from email.message import EmailMessage

import pytest
from delivery_support import cut_off_smtp

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


async def test_a_connection_lost_while_the_server_takes_the_message_is_uncertain() -> None:
    with cut_off_smtp("DATA") as (port, taken), pytest.raises(MailUncertain):
        await SmtpMailer("127.0.0.1", port, timeout=5).send(message())
    assert len(taken) == 1  # the server did have it: sending again would deliver it twice


async def test_a_connection_lost_before_the_message_began_is_not_sent() -> None:
    with cut_off_smtp("RCPT") as (port, taken), pytest.raises(MailNotSent):
        await SmtpMailer("127.0.0.1", port, timeout=5).send(message())
    assert taken == []


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
