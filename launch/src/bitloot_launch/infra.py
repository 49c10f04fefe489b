"""The servers a BitLoot run needs beside its own processes, started in this process from
`bitloot_testing`'s (the tree has one of each): S3 (moto's server) and SMTP
(aiosmtpd), whose messages a `Mailbox` keeps with the time each was accepted."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from bitloot_testing.net import free_port
from bitloot_testing.s3 import moto_s3
from bitloot_testing.smtp import ReceivedEmail, smtp_listening

# The kinds of delivery's emails that carry a link to the keys (bitloot_delivery.domain.emails).
KEY_EMAIL_KINDS = frozenset({"delivery", "resend", "fresh_link"})


@dataclass(frozen=True)
class Mail:
    """A message the SMTP server accepted, and when (wall clock, seconds)."""

    accepted_at: float
    recipients: tuple[str, ...]
    message: EmailMessage
    raw: bytes = b""  # the bytes as received (the leak scan reads these, not a re-encoding)

    @property
    def kind(self) -> str:
        """The kind delivery gave the email (its ``X-BitLoot-Email`` header: ``delivery``,
        ``resend``, ``fresh_link``, ``delayed``, ``refund_due``, ``refund_sent``,
        ``claim_link``); empty for a mail that did not come from delivery."""
        return str(self.message["X-BitLoot-Email"] or "")

    @property
    def is_key_email(self) -> bool:
        """An email with a link to the keys, as opposed to a notice (delayed, refund)."""
        return self.kind in KEY_EMAIL_KINDS

    @property
    def is_delay_notice(self) -> bool:
        """Delivery's notice that Kinguin is late with the keys (no link in it)."""
        return self.kind == "delayed"


@dataclass
class Mailbox:
    """Every message the demo's SMTP server accepted, in order."""

    host: str
    port: int
    mails: list[Mail] = field(default_factory=list)

    def for_recipient(self, address: str) -> list[Mail]:
        """The emails with a link to the keys sent to `address` (notices left out)."""
        return [mail for mail in self.mails if address in mail.recipients and mail.is_key_email]


MailHandler = Callable[[Mail], None]


@contextmanager
def smtp_server(port: int | None = None, on_mail: MailHandler | None = None) -> Iterator[Mailbox]:
    """The SMTP server (`bitloot_testing.smtp`) on 127.0.0.1 (`port`, or a free one),
    keeping each message in the mailbox with the time it was accepted and calling `on_mail`."""
    mailbox = Mailbox("127.0.0.1", port or free_port())

    def keep(received: ReceivedEmail) -> None:
        mail = Mail(time.time(), received.recipients, received.message, received.raw)
        mailbox.mails.append(mail)
        if on_mail is not None:
            on_mail(mail)

    with smtp_listening(mailbox.port, keep):
        yield mailbox


@contextmanager
def s3_server(port: int = 0) -> Iterator[str]:
    """moto's S3 server (`bitloot_testing.s3`) on `port` (0: one the system chooses);
    its endpoint URL."""
    with moto_s3(port) as server:
        yield server.endpoint_url
