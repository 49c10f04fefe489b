"""Sending the customer's emails: the link, never a key; delivery.completed once the one
delivery email is out. A delay notice (no link) goes through the same attempts, retries
and doubt handling, but emits nothing: delivery.completed and delivery.failed are about
the keys email only, so a notice that fails for good is logged and shown in the email log.

Each attempt is two short transactions around the SMTP conversation:

1. claim: the oldest due email is taken `FOR UPDATE SKIP LOCKED` (any number of
   instances send side by side, never the same email at once) and committed as
   `sending`, with its Message-ID and `claimed_at`;
2. finish: after the mail server answered, the email is marked `sent` and
   delivery.completed emitted in one transaction (or, refused, put back `pending` with a
   backoff, or `failed` with delivery.failed after the last attempt). If the database is
   away at that moment, recording is retried: the process knows what the server said.

Exactly one email: if the process dies between 1 and 2, or the connection is lost while
the server is taking the message, nobody knows whether the server took it. Such an
attempt (still `sending` after `lease`, or cut off during DATA) is never repeated
automatically: it is declared `unconfirmed` (visible in the email log, for an admin to
resend on request) and, for the delivery email, delivery.completed is emitted with
``email_sent=false`` so the order does not hang (the keys are stored, and the customer
can get a link with the order token). The window of doubt is the SMTP conversation
itself, seconds at most; no email is ever sent twice without someone asking.

The loop sleeps until a queued email NOTIFYs it or `poll_seconds` passes (the fallback
for a lost notification and for retries falling due).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import asyncpg

from bitloot_contracts.events import DeliveryCompleted, DeliveryFailed
from bitloot_delivery.adapters.email_log import EMAILS_CHANNEL, ClaimedEmail, EmailLog
from bitloot_delivery.adapters.mailer import MailNotSent, MailUncertain, SmtpMailer
from bitloot_delivery.domain.emails import (
    MAX_ATTEMPTS,
    EmailKind,
    compose,
    new_message_id,
    retry_delay,
)
from bitloot_delivery.domain.links import ClaimLinks, RevealLinks, link_url
from bitloot_delivery.domain.notices import compose_notice
from bitloot_delivery.domain.refund_notices import (
    RefundNotice,
    carries_claim_link,
    compose_refund_email,
    wording_of,
)
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)

ERROR_PAUSE_SECONDS = 5.0


class EmailSender:
    """Sends due emails; `run` is the service's "mailer" background loop."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        mailer: SmtpMailer,
        links: RevealLinks,
        claim_links: ClaimLinks,
        public_url: str,
        mail_from: str,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: Callable[[int], timedelta] = retry_delay,
        lease: timedelta = timedelta(minutes=10),
    ) -> None:
        self._unit_of_work = unit_of_work
        self._mailer = mailer
        self._links = links
        self._claim_links = claim_links
        self._public_url = public_url
        self._mail_from = mail_from
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._lease = lease
        self._wake = asyncio.Event()

    async def run(self, listen_dsn: str | None = None, poll_seconds: float = 5.0) -> None:
        """Send until cancelled: now, on every NOTIFY on `listen_dsn`, every poll."""
        listener = await self._listen(listen_dsn)
        try:
            while True:
                await self._drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), poll_seconds)
                self._wake.clear()
                if listen_dsn is not None and (listener is None or listener.is_closed()):
                    listener = await self._listen(listen_dsn)
        finally:
            if listener is not None and not listener.is_closed():
                await listener.close()

    async def send_next(self) -> bool:
        """Try the next due email; False when none is due."""
        email = await self._claim()
        if email is None:
            return False
        with log_context(order_id=str(email.order_id)):
            await self._attempt(email)
        return True

    async def abandon_stale(self) -> int:
        """Declare unconfirmed the attempts whose sender died mid-way; how many."""
        async with self._unit_of_work() as uow:
            abandoned = await EmailLog(uow.session).abandon_stale(self._lease)
            for email in abandoned:
                logger.error(
                    "email attempt cut short; not resent automatically",
                    extra={"order_id": str(email.order_id), "email_kind": email.kind.value},
                )
                if email.kind is EmailKind.DELIVERY:
                    await uow.emit(
                        DeliveryCompleted(
                            order_id=email.order_id, key_count=email.key_count, email_sent=False
                        )
                    )
            await uow.commit()
        return len(abandoned)

    async def _drain(self) -> None:
        try:
            await self.abandon_stale()
            while await self.send_next():
                pass
        except Exception:
            logger.exception("email sender failed; pausing")
            await asyncio.sleep(ERROR_PAUSE_SECONDS)

    async def _claim(self) -> ClaimedEmail | None:
        async with self._unit_of_work() as uow:
            email = await EmailLog(uow.session).claim_next(new_message_id(self._mail_from))
            await uow.commit()
        return email

    def _message(self, email: ClaimedEmail) -> EmailMessage:
        """The email to send: a delay notice says so and carries no link (there may be no
        keys yet); a refund email says what its row keeps, with a claim link issued now
        where it needs one; every other kind carries a freshly issued reveal link."""
        if email.refund_notice is not None:
            return self._refund_message(email, email.refund_notice)
        if email.notice is not None:
            return compose_notice(
                sender=self._mail_from,
                to=email.to_address,
                notice=email.notice,
                message_id=email.message_id,
            )
        return compose(
            sender=self._mail_from,
            to=email.to_address,
            link=link_url(self._public_url, self._links.issue(email.order_id)),
            ttl_minutes=self._links.ttl.total_seconds() / 60,
            kind=email.kind,
            message_id=email.message_id,
        )

    def _refund_message(self, email: ClaimedEmail, notice: RefundNotice) -> EmailMessage:
        link = None
        if carries_claim_link(email.kind):
            link = self._claim_links.url(notice.refund_id, notice.order_id)
        return compose_refund_email(
            sender=self._mail_from,
            to=email.to_address,
            wording=wording_of(email.kind, notice, self._claim_links.ttl_days),
            message_id=email.message_id,
            link=link,
        )

    async def _attempt(self, email: ClaimedEmail) -> None:
        message = self._message(email)
        try:
            await self._mailer.send(message)
        except MailNotSent as exc:
            await self._until_recorded(self._refused, email, str(exc))
            return
        except MailUncertain as exc:
            await self._until_recorded(self._unconfirmed, email, str(exc))
            return
        await self._until_recorded(self._sent, email)

    async def _until_recorded(self, record: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Record what the mail server answered, however long the database is away: this
        process knows the outcome, and if it gave up, the attempt would be left `sending`
        and declared unconfirmed after the lease (an email sent, or refused, recorded as
        a doubt). Gives up only when the lease is about to run out."""
        deadline = time.monotonic() + self._lease.total_seconds() / 2
        delay = 0.5
        while True:
            try:
                await record(*args)
                return
            except Exception:
                if time.monotonic() + delay > deadline:
                    raise
                logger.warning("cannot record the email's outcome yet; retrying", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _sent(self, email: ClaimedEmail) -> None:
        if await self._completed(email, email_sent=True):
            logger.info("email sent", extra={"email_kind": email.kind.value})
        else:
            logger.error("email sent after its attempt was declared unconfirmed")

    async def _unconfirmed(self, email: ClaimedEmail, error: str) -> None:
        """Cut off while the server took the message: as after a crash, the email is not
        sent again by itself (it may have arrived), and the delivery completes with
        ``email_sent=false`` for an admin to resend on request."""
        detail = f"Cut off while the mail server took the message: {error}"
        if await self._completed(email, email_sent=False, error=detail):
            logger.error(
                "email may or may not have reached the mail server; not resent automatically",
                extra={"email_kind": email.kind.value, "error": error},
            )

    async def _completed(self, email: ClaimedEmail, *, email_sent: bool, error: str = "") -> bool:
        """Record the attempt as sent (or unconfirmed, with `error`) and, for the delivery
        email, emit delivery.completed in the same transaction; False if the attempt is
        no longer ours."""
        async with self._unit_of_work() as uow:
            log = EmailLog(uow.session)
            done = await (
                log.finish_sent(email) if email_sent else log.finish_unconfirmed(email, error)
            )
            if not done:
                return False
            if email.kind is EmailKind.DELIVERY:
                await uow.emit(
                    DeliveryCompleted(
                        order_id=email.order_id, key_count=email.key_count, email_sent=email_sent
                    )
                )
            await uow.commit()
        return True

    async def _refused(self, email: ClaimedEmail, error: str) -> None:
        final = email.attempts >= self._max_attempts
        retry_at = None if final else datetime.now(UTC) + self._backoff(email.attempts)
        async with self._unit_of_work() as uow:
            if not await EmailLog(uow.session).finish_refused(email, error, retry_at):
                return
            if final and email.kind is EmailKind.DELIVERY:
                reason = f"The link email was refused {email.attempts} times; last: {error}"
                await uow.emit(
                    DeliveryFailed(order_id=email.order_id, code="email_failed", reason=reason)
                )
            await uow.commit()
        extra = {"attempt": email.attempts, "error": error, "email_kind": email.kind.value}
        if final:
            logger.error("email failed for good", extra=extra)
        else:
            logger.warning("email not sent; will retry", extra=extra)

    async def _listen(self, dsn: str | None) -> asyncpg.Connection | None:
        if dsn is None:
            return None
        try:
            connection = await asyncpg.connect(dsn)
            await connection.add_listener(EMAILS_CHANNEL, lambda *_: self._wake.set())
        except Exception:
            logger.warning("cannot LISTEN for queued emails; polling only", exc_info=True)
            return None
        return connection
