"""Sending email over SMTP with aiosmtplib: one connection per message, which is plenty
for one email per order and leaves nothing open between messages."""

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib


class MailNotSent(Exception):
    """The mail server could not be reached or refused the message; try again later."""


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0

    async def send(self, message: EmailMessage) -> None:
        """Hand `message` to the server; `MailNotSent` saying why if it did not take it."""
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailNotSent(f"{type(exc).__name__}: {exc}") from exc
