"""SMTP from aiosmtpd: a real SMTP server on 127.0.0.1 that keeps what it receives.

The one SMTP server of the tree: the tests' fixture, and the launcher's mailbox (`make up`,
the demo, bench and chaos) through `smtp_listening`."""

import asyncio
import email
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bitloot_testing.net import free_port


@dataclass(frozen=True)
class ReceivedEmail:
    """One message as the server received it: the SMTP envelope, the bytes, and those
    bytes parsed with the modern email policy (``message["Subject"]``, ``get_body()``).
    Parsed as received, so text parts keep the wire's CRLF line endings."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    message: EmailMessage


class _Keeper:
    """The aiosmtpd handler: accepts every message, appends it to `inbox` and calls
    `on_message` with it."""

    def __init__(
        self, inbox: list[ReceivedEmail], on_message: Callable[[ReceivedEmail], None] | None
    ) -> None:
        self._inbox = inbox
        self._on_message = on_message

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or b"")
        received = ReceivedEmail(
            sender=str(envelope.mail_from),
            recipients=tuple(envelope.rcpt_tos),
            raw=raw,
            message=email.message_from_bytes(raw, policy=default),
        )
        # This runs on the controller's thread; list.append is atomic, so the tests'
        # thread can read the list without a lock.
        self._inbox.append(received)
        if self._on_message is not None:
            self._on_message(received)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """Where the run's SMTP server listens, and every message it received (in order)."""

    host: str
    port: int
    messages: list[ReceivedEmail] = field(default_factory=list)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedEmail]:
        """The received messages once there are at least `count`; TimeoutError after
        `timeout` seconds, saying how many arrived."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(self.messages)} of {count} emails arrived within {timeout} s"
                )
            await asyncio.sleep(0.05)
        return list(self.messages)


@contextmanager
def smtp_listening(
    port: int | None = None, on_message: Callable[[ReceivedEmail], None] | None = None
) -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1:`port` (None: a free one) until the block ends,
    keeping every message and calling `on_message` with each (on the server's thread)."""
    # aiosmtpd's Controller connects to its own port to know it is up, so it needs a real
    # port number, not 0.
    server = SmtpServer("127.0.0.1", port or free_port())
    keeper = _Keeper(server.messages, on_message)
    # SMTPUTF8 (RFC 6531) on, as real relays offer it: checkout accepts internationalised
    # addresses, whose key email needs it.
    controller = Controller(keeper, hostname=server.host, port=server.port, enable_SMTPUTF8=True)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server for the run on 127.0.0.1, keeping every message in memory."""
    with smtp_listening() as server:
        yield server


@pytest.fixture
def smtp_inbox(smtp_server: SmtpServer) -> SmtpServer:
    """The run's SMTP server, its messages cleared for this test."""
    smtp_server.messages.clear()
    return smtp_server
