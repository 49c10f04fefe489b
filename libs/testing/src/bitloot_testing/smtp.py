"""SMTP from aiosmtpd: a real SMTP server on 127.0.0.1 that keeps what it receives."""

import asyncio
import email
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bitloot_testing.net import free_port


@dataclass(frozen=True)
class ReceivedEmail:
    sender: str
    recipients: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.raw, policy=default)


class _Keeper:
    def __init__(self, inbox: list[ReceivedEmail]) -> None:
        self._inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self._inbox.append(
            ReceivedEmail(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(content))
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[ReceivedEmail] = field(default_factory=list)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedEmail]:
        """The received messages once there are `count`; raise after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.messages)} of {count} emails within {timeout} s")
            await asyncio.sleep(0.05)
        return list(self.messages)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server for the run."""
    server = SmtpServer("127.0.0.1", free_port())
    controller = Controller(_Keeper(server.messages), hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_inbox(smtp_server: SmtpServer) -> SmtpServer:
    """The SMTP server with no message received yet in this test."""
    smtp_server.messages.clear()
    return smtp_server
