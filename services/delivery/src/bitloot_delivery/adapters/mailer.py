"""Sending email over SMTP with aiosmtplib: one connection per message, which is plenty
for one email per order and leaves nothing open between messages.

What a failure means depends on when it came. Before the message's DATA began, or when
the server answered it with a refusal, the server does not have the message: send it
again later (`MailNotSent`). A connection lost or timed out during DATA leaves it unknown
whether the server took the message (`MailUncertain`): what to do then is the caller's
rule, not the mailer's.

The caller may pass `before_data`, awaited after the server accepted the recipients and
just before the DATA command: the sender commits there that DATA begins. If it raises,
DATA is not sent and the message is `MailNotSent`, so that no message ever reaches the
server without that record.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtplib.response import SMTPResponse

BeforeData = Callable[[], Awaitable[None]]


class MailNotSent(Exception):
    """The mail server could not be reached or refused the message, or `before_data`
    failed so DATA was never sent: the server does not have it; try again later."""


class MailUncertain(Exception):
    """The connection was lost while the server was taking the message: it may have it."""


class _BeforeDataFailed(Exception):
    """`before_data` raised: DATA must not be sent."""


class _Client(aiosmtplib.SMTP):
    """aiosmtplib's client, calling `before_data` before the message's DATA and noting
    when DATA began."""

    data_started = False
    before_data: BeforeData | None = None

    async def data(self, *args: Any, **kwargs: Any) -> SMTPResponse:
        if self.before_data is not None:
            try:
                await self.before_data()
            except Exception as exc:
                raise _BeforeDataFailed(f"{type(exc).__name__}: {exc}") from exc
        self.data_started = True
        return await super().data(*args, **kwargs)


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0

    async def send(self, message: EmailMessage, before_data: BeforeData | None = None) -> None:
        """Hand `message` to the server, awaiting `before_data` just before DATA;
        `MailNotSent` if the server surely did not take it, `MailUncertain` if it may
        have."""
        client = _Client(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
        )
        client.before_data = before_data
        try:
            await client.connect()
            await client.send_message(message)
        except _BeforeDataFailed as exc:
            raise MailNotSent(
                f"DATA not sent: the attempt's stage was not recorded: {exc}"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailNotSent(f"{type(exc).__name__}: {exc}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            if client.data_started:
                raise MailUncertain(f"{type(exc).__name__}: {exc}") from exc
            raise MailNotSent(f"{type(exc).__name__}: {exc}") from exc
        finally:
            await _quit(client)


async def _quit(client: aiosmtplib.SMTP) -> None:
    """Say goodbye if still connected; once the server has answered the message, how the
    goodbye goes changes nothing."""
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
