"""The SMTP mailer against a real SMTP server (aiosmtpd)."""

from email.message import EmailMessage

import pytest

from bitloot_delivery.adapters.mailer import MailNotSent, SmtpMailer
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
