"""Sending email over SMTP with aiosmtplib, on connections kept open between messages.

A connection that carried a message the server accepted is kept (up to `max_idle` of
them, each for at most `idle_seconds`) and the next message goes on it with MAIL, RCPT and
DATA only: no TCP connect, greeting, EHLO or QUIT per email (they cost a quarter of the
sender's CPU, and round trips). A connection that failed anyhow is closed, never reused.
A kept connection may have been closed by the server meanwhile: if it fails before the
message's DATA began (the server cannot have it) the message goes once more, at once, on
a new connection; a new connection's failure is the caller's, as below. The client's
name in EHLO (the local host's FQDN, which aiosmtplib looks up in a thread for every
connection) is looked up once per process. `close` closes the kept connections.

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

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtplib.response import SMTPResponse

from bitloot_runtime.telemetry import child_span

BeforeData = Callable[[], Awaitable[None]]


class MailNotSent(Exception):
    """The mail server could not be reached or refused the message, or `before_data`
    failed so DATA was never sent: the server does not have it; try again later."""


class _KeptConnectionLost(Exception):
    """A kept connection failed before DATA as one the server closed meanwhile would:
    the server does not have the message; it goes again on a new connection."""


class MailUncertain(Exception):
    """The connection was lost while the server was taking the message: it may have it."""


class _BeforeDataFailed(Exception):
    """`before_data` raised: DATA must not be sent."""


class _Client(aiosmtplib.SMTP):
    """aiosmtplib's client, calling `before_data` before the message's DATA and noting
    when the conversation reached it (`reached_data`) and when DATA began; `kept` once
    it has carried a message."""

    kept = False
    reached_data = False
    data_started = False
    before_data: BeforeData | None = None

    async def data(self, *args: Any, **kwargs: Any) -> SMTPResponse:
        self.reached_data = True
        if self.before_data is not None:
            try:
                await self.before_data()
            except Exception as exc:
                raise _BeforeDataFailed(f"{type(exc).__name__}: {exc}") from exc
        self.data_started = True
        return await super().data(*args, **kwargs)


class _LocalHostname:
    """The name this host gives in EHLO, looked up once (in a thread: it may ask DNS)."""

    name: str | None = None

    @classmethod
    async def get(cls) -> str:
        if cls.name is None:
            cls.name = await asyncio.to_thread(socket.getfqdn)
        return cls.name


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 30.0
    max_idle: int = 8
    idle_seconds: float = 30.0
    # The connections kept for the next messages, with when each was last used
    # (monotonic clock); the list itself is mutable state of a frozen mailer.
    _idle: list[tuple[_Client, float]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    async def send(self, message: EmailMessage, before_data: BeforeData | None = None) -> None:
        """Hand `message` to the server, awaiting `before_data` just before DATA;
        `MailNotSent` if the server surely did not take it, `MailUncertain` if it may
        have."""
        client = self._kept()
        if client is not None:
            try:
                await self._converse(client, message, before_data)
                return
            except _KeptConnectionLost:
                pass
        client = _Client(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
            local_hostname=await _LocalHostname.get(),
        )
        await self._converse(client, message, before_data)

    def close(self) -> None:
        """Close every kept connection (without QUIT: a stopping sender waits for no
        server)."""
        for client, _ in self._idle:
            client.close()
        self._idle.clear()

    def _kept(self) -> _Client | None:
        """The most recently used kept connection, if still open and used recently (the
        others are closed)."""
        oldest = time.monotonic() - self.idle_seconds
        while self._idle:
            client, used = self._idle.pop()
            if used >= oldest and client.is_connected:
                return client
            client.close()
        return None

    async def _converse(
        self, client: _Client, message: EmailMessage, before_data: BeforeData | None
    ) -> None:
        """One message on `client` (connected first if new); the connection is kept for
        the next message if the server accepted this one, else closed."""
        client.before_data = before_data
        client.reached_data = client.data_started = False
        try:
            # No address, subject or body in the span: what it did and where to.
            with child_span("smtp send", {"server.address": self.host}):
                if not client.kept:
                    await client.connect()
                await client.send_message(message)
        except _BeforeDataFailed as exc:
            await _quit(client)
            raise MailNotSent(
                f"DATA not sent: the attempt's stage was not recorded: {exc}"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # The server answered: it did not take the message (421: it is closing what
            # may be a kept connection, before DATA).
            await _quit(client)
            if client.kept and not client.reached_data and exc.code == 421:
                raise _KeptConnectionLost from exc
            raise MailNotSent(f"{type(exc).__name__}: {exc}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            await _quit(client)
            if client.data_started:
                raise MailUncertain(f"{type(exc).__name__}: {exc}") from exc
            if client.kept and not client.reached_data and isinstance(exc, ConnectionError):
                raise _KeptConnectionLost from exc
            raise MailNotSent(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            client.close()
            raise
        client.before_data = None
        client.kept = True
        if len(self._idle) < self.max_idle:
            self._idle.append((client, time.monotonic()))
        else:
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
