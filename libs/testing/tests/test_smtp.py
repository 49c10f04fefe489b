"""The aiosmtpd server keeps every message it receives."""

from email.message import EmailMessage

import aiosmtplib
import pytest

from bitloot_testing.smtp import SmtpServer


def key_ready_email() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "shop@bitloot.test"
    message["To"] = "buyer@example.test"
    message["Subject"] = "Your key is ready"
    message.set_content("Open your link.")
    return message


async def test_smtp_server_receives_a_message_sent_with_aiosmtplib(
    smtp_inbox: SmtpServer,
) -> None:
    await aiosmtplib.send(
        key_ready_email(),
        hostname=smtp_inbox.host,
        port=smtp_inbox.port,
        sender="bounces@bitloot.test",
        recipients=["buyer@example.test", "audit@bitloot.test"],
    )
    [received] = await smtp_inbox.wait_for(1, timeout=5)
    assert received.sender == "bounces@bitloot.test"
    assert received.recipients == ("buyer@example.test", "audit@bitloot.test")
    assert received.message["Subject"] == "Your key is ready"
    body = received.message.get_body(("plain",))
    assert body is not None
    assert body.get_content() == "Open your link.\r\n"  # as on the wire: CRLF
    assert b"Subject: Your key is ready" in received.raw


async def test_smtp_inbox_starts_empty_in_each_test(smtp_inbox: SmtpServer) -> None:
    assert smtp_inbox.messages == []
    await aiosmtplib.send(key_ready_email(), hostname=smtp_inbox.host, port=smtp_inbox.port)
    assert len(await smtp_inbox.wait_for(1, timeout=5)) == 1


async def test_waiting_for_mail_that_never_comes_says_how_many_arrived(
    smtp_inbox: SmtpServer,
) -> None:
    await aiosmtplib.send(key_ready_email(), hostname=smtp_inbox.host, port=smtp_inbox.port)
    with pytest.raises(TimeoutError, match="1 of 2 emails arrived"):
        await smtp_inbox.wait_for(2, timeout=0.5)
