"""A crash mid-email never loses the key email and never sends it more than twice: the
email sender, a real process, is killed (SIGKILL) while a real SMTP server (aiosmtpd)
stalls at a chosen stage of the conversation; a new sender takes the attempt back after
the lease. The server is the witness of what the customer would get.

- killed before DATA (the server waits before answering RCPT): the message is sent again,
  and exactly one arrives;
- killed during DATA (the server has the message but never answers it): sent once more
  with the same Message-ID: two copies, one Message-ID;
- killed during DATA twice: `unconfirmed`, no third copy, delivery.completed with
  ``email_sent=false`` once.
"""

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from delivery_support import completions, smtp_handled_by, stored_delivery, the_email
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_testing.bus import eventually

SENDER = Path(__file__).with_name("sender_process.py")
LEASE_SECONDS = 2.0
START_TIMEOUT = 60.0


class _Stalling:
    """An aiosmtpd handler keeping every message it receives; in its first `stalls`
    conversations it stops answering `at` a stage ("RCPT": before answering the
    recipient; "DATA": once it has the message, before the final reply) until the
    client goes away."""

    def __init__(self, at: str, stalls: int) -> None:
        self.at = at
        self.stalls = stalls
        self.stalled = 0
        self.received: list[bytes] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.at == "RCPT":
            await self._stall()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(bytes(envelope.original_content or b""))
        if self.at == "DATA":
            await self._stall()
        return "250 Message accepted for delivery"

    async def _stall(self) -> None:
        if self.stalls == 0:
            return
        self.stalls -= 1
        self.stalled += 1
        await asyncio.sleep(3600)  # aiosmtpd cancels this when the client is gone

    def message_ids(self) -> list[str]:
        return [str(message_from_bytes(raw, policy=default)["Message-ID"]) for raw in self.received]


@contextmanager
def stalling_smtp(at: str, stalls: int) -> Iterator[tuple[int, _Stalling]]:
    handler = _Stalling(at, stalls)
    with smtp_handled_by(handler) as port:
        yield port, handler


@asynccontextmanager
async def sender_processes(
    database_url: str, smtp_port: int, logs: Path
) -> AsyncIterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts email sender processes on demand; stops those still running at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        log = (logs / f"sender-{len(started)}.log").open("wb")
        arguments = [database_url, str(smtp_port), str(LEASE_SECONDS)]
        process = subprocess.Popen(
            [sys.executable, str(SENDER), *arguments], stdout=log, stderr=subprocess.STDOUT
        )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.to_thread(process.wait, 30)


async def kill(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    await asyncio.to_thread(process.wait, 30)
    assert process.returncode == -signal.SIGKILL


async def status_becomes(engine: AsyncEngine, status: str) -> bool:
    async def reached() -> bool:
        return (await the_email(engine))["status"] == status

    return await eventually(reached, timeout=START_TIMEOUT)


async def killed_while_stalled(
    start: Callable[[], subprocess.Popen[bytes]], server: _Stalling, stalls: int
) -> None:
    """Start a sender, wait until the server holds it stalled, and SIGKILL it."""
    process = start()

    async def stalled() -> bool:
        assert process.poll() is None, "the sender exited early"
        return server.stalled == stalls

    assert await eventually(stalled, timeout=START_TIMEOUT)
    await kill(process)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("at", "stage", "copies", "recovered", "doubtful"),
    [("RCPT", "before_data", 1, 1, 0), ("DATA", "data", 2, 0, 1)],
    ids=["before_data", "during_data"],
)
async def test_a_sender_killed_mid_email_leaves_it_sent_again_with_its_message_id(
    engine: AsyncEngine,
    database_url: str,
    tmp_path: Path,
    at: str,
    stage: str,
    copies: int,
    recovered: int,
    doubtful: int,
) -> None:
    """Killed before DATA: exactly one message arrives. Killed during DATA: the server
    may have it, so one more copy, with the same Message-ID."""
    order_id = await stored_delivery(engine)
    with stalling_smtp(at, stalls=1) as (port, server):
        async with sender_processes(database_url, port, tmp_path) as start:
            await killed_while_stalled(start, server, stalls=1)
            cut = await the_email(engine)
            assert (cut["status"], cut["smtp_stage"]) == ("sending", stage)
            start()
            assert await status_becomes(engine, "sent")
    mail = await the_email(engine)
    assert server.message_ids() == [mail["message_id"]] * copies
    assert (mail["attempts"], mail["recovered_attempts"], mail["doubtful_resends"]) == (
        2,
        recovered,
        doubtful,
    )
    assert await completions(engine) == [(str(order_id), True)]


@pytest.mark.slow
async def test_senders_killed_during_data_twice_leave_the_email_unconfirmed_and_two_copies(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    order_id = await stored_delivery(engine)
    with stalling_smtp("DATA", stalls=2) as (port, server):
        async with sender_processes(database_url, port, tmp_path) as start:
            await killed_while_stalled(start, server, stalls=1)
            await killed_while_stalled(start, server, stalls=2)
            start()
            assert await status_becomes(engine, "unconfirmed")
            await asyncio.sleep(3 * LEASE_SECONDS)  # the last sender sends nothing more
    mail = await the_email(engine)
    assert server.message_ids() == [mail["message_id"]] * 2
    assert (mail["attempts"], mail["doubtful_resends"]) == (2, 1)
    assert await completions(engine) == [(str(order_id), False)]
