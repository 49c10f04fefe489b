"""Sending email over SMTP with aiosmtplib: one connection per message, which is plenty
for one email per order and leaves nothing open between messages.

What a failure means depends on when it came. Before the message's DATA began, or when
the server answered it with a refusal, the server does not have the message: send it
again later (`MailNotSent`). A connection lost or timed out during DATA leaves it unknown
whether the server took the message (`MailUncertain`): sending again could deliver it
twice, so the caller must not retry by itself.
"""

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtplib.response import SMTPResponse


class MailNotSent(Exception):
    """The mail server could not be reached or refused the message; try again later."""


class MailUncertain(Exception):
    """The connection was lost while the server was taking the message: it may have it."""


class _Client(aiosmtplib.SMTP):
    """aiosmtplib's client, noting when the message's DATA began."""

    data_started = False

    async def data(self, *args: Any, **kwargs: Any) -> SMTPResponse:
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

    async def send(self, message: EmailMessage) -> None:
        """Hand `message` to the server; `MailNotSent` if it surely did not take it,
        `MailUncertain` if it may have."""
        client = _Client(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
        )
        try:
            await client.connect()
            await client.send_message(message)
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
